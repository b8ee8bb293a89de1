"""Declaring an API endpoint: one that could skip its route's scope check is refused when it is
declared (at import), never served."""

from __future__ import annotations

import pytest

from tempclock.api.http.routing import endpoint


def test_an_endpoint_without_identity_is_refused_when_it_is_declared():
    declare = endpoint("GET", "/payslips", operation_id="listPayslips", scope="payslips:read",
                       summary="List payslips")

    def list_payslips() -> list[str]:
        return []

    with pytest.raises(TypeError, match="list_payslips: an API endpoint takes `identity: "
                                        "Identity`, which checks the scope of its route"):
        declare(list_payslips)
