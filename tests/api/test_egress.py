"""The one "is this address internal?" answer holds for every address, however it is spelled."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from tempclock.api.services.egress import AddressKind, classify


@given(st.ip_addresses())
def test_an_address_is_public_only_when_it_and_any_ipv4_inside_it_are_global(address):
    if classify(address) is AddressKind.PUBLIC:
        assert address.is_global and not address.is_multicast
        if isinstance(address, ipaddress.IPv6Address):
            for inside in (address.ipv4_mapped, address.sixtofour):
                assert inside is None or classify(inside) is AddressKind.PUBLIC


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_counts_the_same_inside_ipv6(address):
    mapped = ipaddress.IPv6Address(f"::ffff:{address}")
    assert classify(mapped) is classify(address)
