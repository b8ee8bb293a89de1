"""The egress policy: where TempClock may send data (webhooks, CRM push, any `context.deliver`).

One policy, checked when a URL is saved and again at every delivery:

- the URL is parsed strictly (scheme, IDNA host, port 1-65535, no user name or
  password, no numeric shorthand such as `2130706433` or `0x7f.1`);
- by default it must be HTTPS to a public address;
- loopback and private addresses (and plain HTTP to loopback) are allowed only
  when the admin has allowed internal targets for the account;
- link-local (the cloud metadata address 169.254.169.254 among them), unspecified,
  multicast and reserved addresses are never allowed.

At delivery a host name is resolved and every address it resolves to is checked;
the sender then connects to one of those checked addresses (see `tempclock.api.outbound`),
so a name cannot point somewhere else between the check and the connection.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import re
import socket
from enum import Enum
from typing import NamedTuple

from tempclock.api.services.common import clean_text
from tempclock.api.services.errors import Invalid
from tempclock.api.store.models import Account as AccountRow

MAX_URL_LENGTH = 2000
CREATION_LOOKUP_S = 2.0  # a slow resolver never holds up saving a URL for long
INTERNAL_NOT_ALLOWED = "internal address not allowed"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that never mean a public host: RFC 6761 (localhost), RFC 6762 (.local),
# RFC 8375 (home.arpa) and ICANN's private-use .internal.
_LOOPBACK_NAMES = re.compile(r"(^|\.)localhost$|^localhost\.localdomain$")
_PRIVATE_SUFFIXES = (".local", ".home.arpa", ".internal", ".localdomain", ".lan", ".intranet")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")


class AddressKind(Enum):
    """Where an address leads, as far as the policy cares."""

    PUBLIC = "public"
    LOOPBACK = "loopback"  # this PC: allowed for internal targets
    PRIVATE = "private"  # the office network (RFC 1918, fc00::/7, CGNAT): internal targets
    FORBIDDEN = "forbidden"  # link-local, metadata, unspecified, multicast, reserved: never


class Refused(Invalid):
    """A URL or address the egress policy does not allow."""


class Target(NamedTuple):
    """A parsed receiver URL: what the policy looks at."""

    scheme: str
    host: str  # ASCII (IDNA), lower case, without a trailing dot
    port: int
    address: Address | None  # set when the host is an IP address


def classify(address: Address) -> AddressKind:
    """The one answer to "is this address internal?" (IPv4 inside IPv6 is unwrapped)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return classify(embedded)
    if address.is_loopback:
        return AddressKind.LOOPBACK
    if (address.is_link_local or address.is_unspecified or address.is_multicast
            or address.is_reserved or address in _THIS_NETWORK
            or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)):
        return AddressKind.FORBIDDEN
    if address.is_private or not address.is_global:
        return AddressKind.PRIVATE
    return AddressKind.PUBLIC


def _name_kind(host: str) -> AddressKind:
    """What a host name is known to be before any lookup."""
    if _LOOPBACK_NAMES.search(host):
        return AddressKind.LOOPBACK
    if "." not in host or host.endswith(_PRIVATE_SUFFIXES):
        return AddressKind.PRIVATE  # a single label is found through the office's search domain
    return AddressKind.PUBLIC


def _bad(field: str, message: str) -> Invalid:
    return Invalid(f"{field} {message}", field=field, code="invalid_url")


def _host_address(host: str, field: str) -> Address | None:
    """The IP address a URL host spells, None for a name; numeric shorthand is refused."""
    if host.startswith("[") or ":" in host:
        literal = host.strip("[]")
        if "%" in literal:
            raise _bad(field, "must not name an IPv6 zone (a %interface)")
        try:
            return ipaddress.IPv6Address(literal)
        except ValueError:
            raise _bad(field, f"has an invalid IPv6 address {literal!r}") from None
    if _NUMERIC_HOST.match(host.rsplit(".", 1)[-1]):
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            raise _bad(field, f"has an invalid IPv4 address {host!r}: write it as four "
                              "decimal numbers, e.g. 203.0.113.7") from None
    return None


def _check_name(host: str, field: str) -> None:
    if len(host) > 253 or not all(_LABEL.match(label) for label in host.split(".")):
        raise _bad(field, f"has an invalid host name {host!r}")


def parse_target(url: str, field: str = "url") -> Target:
    """Parse a receiver URL strictly, or raise `Invalid` naming `field`."""
    import httpx  # here: the API process loads it only when a URL is saved

    try:
        parsed = httpx.URL(url)
        port = parsed.port
        parsed.host  # noqa: B018 - decoding checks each xn-- label is valid IDNA
    except (httpx.InvalidURL, UnicodeError, ValueError) as error:
        raise _bad(field, f"is not a valid URL ({error})") from None
    if parsed.scheme not in ("https", "http"):
        raise _bad(field, "must be an absolute https:// URL")
    if parsed.userinfo:
        raise _bad(field, "must not contain a user name or password (user@host)")
    host = parsed.raw_host.decode("ascii").lower().removesuffix(".")
    if not host:
        raise _bad(field, "must name a host")
    if port is not None and not 1 <= port <= 65535:
        raise _bad(field, f"has an invalid port {port} (1 to 65535)")
    address = _host_address(host, field)
    if address is None:
        _check_name(host, field)
    return Target(scheme=parsed.scheme, host=host,
                  port=port or (443 if parsed.scheme == "https" else 80), address=address)


def check_address(address: Address, *, allow_internal: bool, name: str | None = None,
                  field: str = "url") -> AddressKind:
    """Refuse an address the policy does not allow; returns its kind.

    `name` is the host name it was looked up for, if any (the refusal names it, not the address).
    """
    kind = classify(address)
    # A name's answer is not repeated: an API caller must not map the office network with it.
    where = f"{name} resolves to an internal address" if name else str(address)
    if kind is AddressKind.FORBIDDEN:
        raise Refused(f"{INTERNAL_NOT_ALLOWED} ({where}: link-local, metadata, multicast or "
                      "reserved addresses are never allowed)", field=field,
                      code="internal_target_not_allowed")
    if kind is not AddressKind.PUBLIC and not allow_internal:
        raise Refused(f"{INTERNAL_NOT_ALLOWED} ({where}); the admin can allow internal "
                      "targets for this account", field=field,
                      code="internal_target_not_allowed")
    return kind


def _check_literal(target: Target, *, allow_internal: bool, field: str) -> None:
    """The checks that need no lookup: the address or kind of name, and the scheme."""
    if target.address is not None:
        kind = check_address(target.address, allow_internal=allow_internal, field=field)
    else:
        kind = _name_kind(target.host)
        if kind is not AddressKind.PUBLIC and not allow_internal:
            raise Refused(f"{INTERNAL_NOT_ALLOWED} ({target.host} is a name on this PC or "
                          "the office network); the admin can allow internal targets for "
                          "this account", field=field, code="internal_target_not_allowed")
    if target.scheme == "http" and kind is not AddressKind.LOOPBACK:
        raise Refused(f"{field} must use HTTPS (plain HTTP is allowed only to this PC, when "
                      "internal targets are allowed)", field=field, code="webhook_url_insecure")


def resolve(host: str, port: int, *, allow_internal: bool, field: str = "url") -> list[str]:
    """Look `host` up and check every address it has; returns them (refused if any is not allowed).

    Checking all of them, not only the first, leaves a name no way to alternate
    between a public and an internal answer.
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for found in addresses:
        check_address(ipaddress.ip_address(found.split("%")[0]), allow_internal=allow_internal,
                      name=host, field=field)
    return addresses


def _resolve_briefly(target: Target, *, allow_internal: bool, field: str) -> None:
    """At creation: refuse a name that resolves inside; an unknown or slow name waits for delivery."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    lookup = pool.submit(resolve, target.host, target.port, allow_internal=allow_internal,
                         field=field)
    pool.shutdown(wait=False)
    try:
        lookup.result(timeout=CREATION_LOOKUP_S)
    except (OSError, UnicodeError, concurrent.futures.TimeoutError):
        return  # checked again at every delivery


def check_url(url: str, *, allow_internal: bool, field: str = "url",
              lookup: bool = False) -> Target:
    """Apply the policy to a URL (with `lookup`, also to the addresses its name has now)."""
    target = parse_target(url, field)
    _check_literal(target, allow_internal=allow_internal, field=field)
    if lookup and target.address is None:
        _resolve_briefly(target, allow_internal=allow_internal, field=field)
    return target


def internal_targets_allowed(account_id: int) -> bool:
    """Whether the admin has allowed the account to send to internal addresses."""
    row = (AccountRow.select(AccountRow.internal_targets_allowed)
           .where(AccountRow.id == account_id)
           .first())
    return bool(row and row.internal_targets_allowed)


def check_account_url(account_id: int, url: str | None, field: str = "url", *,
                      lookup: bool = True) -> str:
    """A receiver URL the account may use: cleaned text, parsed and checked.

    With `lookup` (when an admin or integrator saves it) its name is also looked up
    briefly, so a name that points inside is refused there and then.
    """
    url = clean_text(url, field, max_length=MAX_URL_LENGTH, required=True)
    check_url(url, allow_internal=internal_targets_allowed(account_id), field=field,
              lookup=lookup)
    return url
