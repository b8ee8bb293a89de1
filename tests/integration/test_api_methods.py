"""Every path answers OPTIONS and HEAD as API.md's Methods paragraph says, and refuses the rest.

OPTIONS: 204 with `Allow` listing the path's methods, after authentication (and counted
against the key's window like any request). HEAD: wherever GET answers, the same status
and headers, no body. Any other method a path does not route: 405 problem with `Allow`.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from api_tenants import make_tenant
from test_api_errors import check

from tempclock.api.services import accounts, clocking, shifts

METHODS = ("get", "post", "put", "patch", "delete")
# Headers that differ between two answers to the same request.
PER_RESPONSE = {"date", "x-request-id", "x-ratelimit-remaining", "ratelimit"}


@pytest.fixture(scope="module")
def documented(api) -> dict[str, set[str]]:
    """Each path of the served OpenAPI document and the methods it documents."""
    document = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    return {path: {m.upper() for m in item if m in METHODS}
            for path, item in document["paths"].items()}


@pytest.fixture(scope="module")
def agency(api):
    """A tenant with an entry and a shift, so every `{..._id}` path has a real object."""
    tenant = make_tenant()
    entry = clocking.clock_in(tenant.account_id, tenant.worker.id)
    shift = shifts.create_shift(tenant.account_id, shifts.ShiftCreate(
        location_id=tenant.site.id, start=dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC),
        end=dt.datetime(2030, 1, 1, 16, tzinfo=dt.UTC)))
    ids = {"worker_id": tenant.worker.id, "entry_id": entry.id,
           "location_id": tenant.site.id, "shift_id": shift.id}
    return tenant, ids


def concrete(path: str, ids: dict[str, int]) -> str:
    """The document's path under /api/v1 with its parameters filled in (1 when we have none)."""
    path = path.removeprefix("/api/v1")
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def allowed(response: httpx.Response) -> set[str]:
    return {method.strip() for method in response.headers["allow"].split(",")}


def test_options_answers_204_with_the_methods_of_every_documented_path(api, documented,
                                                                       agency):
    tenant, ids = agency
    with api.client(tenant.key) as c:
        for path, methods in documented.items():
            response = c.options(concrete(path, ids))
            assert response.status_code == 204, (path, response.text)
            assert response.content == b""
            expected = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
            assert allowed(response) == expected, path
            assert response.headers["x-ratelimit-limit"]


def test_head_answers_like_get_without_a_body_on_every_documented_get(api, documented,
                                                                     agency):
    tenant, ids = agency
    with api.client(tenant.key) as c:
        for path, methods in documented.items():
            if "GET" not in methods:
                continue
            url = concrete(path, ids)
            got, head = c.get(url), c.head(url)
            assert head.status_code == got.status_code, (path, got.text)
            assert got.status_code == 200 or "{" in path, (path, got.text)
            assert head.content == b""
            assert head.headers["content-type"] == got.headers["content-type"], path
            assert head.headers["content-length"] == str(len(got.content)), path
            assert ({k: v for k, v in head.headers.items() if k not in PER_RESPONSE}
                    == {k: v for k, v in got.headers.items() if k not in PER_RESPONSE}), path
            assert int(head.headers["x-ratelimit-remaining"]) == (
                int(got.headers["x-ratelimit-remaining"]) - 1)


def test_head_of_a_missing_object_is_the_404_of_get_without_its_body(client):
    got, head = client.get("/workers/999999"), client.head("/workers/999999")
    assert head.status_code == got.status_code == 404
    assert head.content == b""
    assert head.headers["content-type"] == "application/problem+json"
    assert head.headers["content-length"] == str(len(got.content))


def test_head_where_get_is_not_routed_is_a_405_naming_the_allowed_methods(client):
    response = client.head("/clock")
    assert response.status_code == 405 and response.content == b""
    assert allowed(response) == {"POST", "OPTIONS"}


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/workers", {"GET", "HEAD", "OPTIONS", "PATCH", "POST"}),
    ("PUT", "/departments", {"GET", "HEAD", "OPTIONS"}),
    ("PATCH", "/departments/1", {"GET", "HEAD", "OPTIONS"}),
    ("DELETE", "/clock", {"POST", "OPTIONS"}),
    ("PROPFIND", "/cost_codes.php", {"GET", "HEAD", "OPTIONS"}),
])
def test_a_method_a_path_does_not_route_is_a_405_problem_with_allow(client, method, path,
                                                                  allow):
    response = client.request(method, path)
    check(response, 405, "method_not_allowed", "Method Not Allowed")
    assert allowed(response) == allow


def test_options_needs_a_key_like_any_request(api):
    with api.client() as c:
        response = c.options("/workers")
    check(response, 401, "key_missing", "Unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_options_is_forbidden_to_an_account_with_the_api_off(api):
    tenant = make_tenant()
    accounts.set_api_enabled(tenant.account_id, False)
    with api.client(tenant.key) as c:
        check(c.options("/workers"), 403, "api_disabled", "Forbidden")
        assert c.head("/workers").status_code == 403


def test_options_and_head_count_against_the_keys_window(api):
    tenant = make_tenant(rate_limit=2)
    with api.client(tenant.key) as c:
        assert c.options("/workers").status_code == 204
        assert c.head("/workers").status_code == 200
        refused = c.options("/workers")
    assert refused.status_code == 429
    assert refused.headers["retry-after"]


def test_options_of_an_unknown_path_is_a_404(client):
    check(client.options("/no-such-thing"), 404, "not_found", "Not Found")


def test_the_public_docs_answer_head_and_options_without_a_key(api):
    for path in ("/docs", "/api/v1/openapi.json"):
        got, head = httpx.get(f"{api.url}{path}"), httpx.head(f"{api.url}{path}")
        assert head.status_code == got.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(got.content))
        options = httpx.options(f"{api.url}{path}")
        assert options.status_code == 204 and allowed(options) == {"GET", "HEAD", "OPTIONS"}
