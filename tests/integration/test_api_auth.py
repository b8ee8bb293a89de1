"""Who gets in: the 401/403 matrix of API.md, scopes per route, and the API logs it leaves."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import httpx
import pytest
from api_tenants import issue, make_tenant, start_api

from tempclock.api.config import load_config
from tempclock.api.services import accounts, api_logs, keys


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code and body["error"] is True
    assert body["request_id"] == response.headers["x-request-id"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    return body


def test_a_request_without_a_key_is_refused(api):
    with api.client() as c:
        problem(c.get("/workers"), 401, "key_missing")


def test_another_scheme_than_bearer_is_refused(api, tenant):
    with api.client(Authorization=f"Token {tenant.key}") as c:
        problem(c.get("/workers"), 401, "auth_scheme_unsupported")
    with api.client(Authorization=tenant.key) as c:
        problem(c.get("/workers"), 401, "auth_scheme_unsupported")


def test_the_word_bearer_is_case_insensitive_but_the_key_is_not(api, tenant):
    for scheme in ("bearer", "BEARER", "BeArEr"):
        with api.client(Authorization=f"{scheme} {tenant.key}") as c:
            assert c.get("/workers").status_code == 200
    with api.client(tenant.key.upper().replace("TC_LIVE_", "tc_live_")) as c:
        problem(c.get("/workers"), 401, "key_malformed")


@pytest.mark.parametrize("second", ["the same key", "another good key"])
def test_two_authorization_headers_are_refused_whichever_comes_first(api, tenant, second):
    """A proxy or a retry may put either first: none is chosen, even when one is good."""
    other, _ = issue(tenant.account.id, "Second")
    seconds = {"the same key": f"Bearer {tenant.key}", "another good key": f"Bearer {other}"}
    for pair in ([f"Bearer {tenant.key}", seconds[second]],
                 ["Bearer nonsense", f"Bearer {tenant.key}"]):
        with api.client() as c:
            response = c.get("/workers", headers=[("Authorization", v) for v in pair])
        body = problem(response, 401, "auth_header_repeated")
        assert "one Authorization header" in body["message"]
    with api.client(tenant.key) as c:  # one header still works
        assert c.get("/workers").status_code == 200


def test_a_malformed_key_is_refused(api):
    for bad in ("nonsense", "tc_live_123", "tc_live_" + "g" * 40, "tc_live_" + "A" * 40):
        with api.client(Authorization=f"Bearer {bad}") as c:
            problem(c.get("/workers"), 401, "key_malformed")


def test_a_mistyped_key_fails_its_checksum(api, tenant):
    typo = tenant.key[:-9] + ("0" if tenant.key[-9] != "0" else "1") + tenant.key[-8:]
    with api.client(typo) as c:
        problem(c.get("/workers"), 401, "key_checksum_invalid")


def test_an_unknown_key_is_refused(api):
    with api.client(keys.generate_key()) as c:
        problem(c.get("/workers"), 401, "key_unknown")


def test_a_key_in_the_query_string_or_another_header_is_never_accepted(api, tenant):
    with api.client() as c:
        problem(c.get(f"/workers?api_key={tenant.key}"), 401, "key_missing")
        problem(c.get(f"/workers?key={tenant.key}"), 401, "key_missing")
        problem(c.get("/workers", headers={"X-API-Key": tenant.key}), 401, "key_missing")


def test_a_revoked_key_is_refused_on_the_next_request(api, tenant, client):
    assert client.get("/workers").status_code == 200
    keys.revoke_key(tenant.key_id)
    problem(client.get("/workers"), 401, "key_revoked")


def test_a_key_revoked_by_another_process_is_refused_on_the_next_request(api, tenant, client):
    assert client.get("/workers").status_code == 200
    subprocess.run([sys.executable, "-m", "tempclock.api.cli", "keys", "revoke", str(tenant.key_id),
                    "--data-dir", str(api.config.data_dir)], check=True, capture_output=True)
    problem(client.get("/workers"), 401, "key_revoked")


def test_an_expired_key_is_refused(api, tenant):
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
    key, _ = issue(tenant.account_id, expires_at=expires)
    with api.client(key) as c:
        assert c.get("/workers").status_code == 200
        time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
        problem(c.get("/workers"), 401, "key_expired")


def test_a_key_of_an_account_with_api_access_off_is_forbidden(api, tenant, client):
    accounts.set_api_enabled(tenant.account_id, False)
    body = problem(client.get("/workers"), 403, "api_disabled")
    assert "not enabled" in body["message"]
    accounts.set_api_enabled(tenant.account_id, True)
    assert client.get("/workers").status_code == 200


# Each route, and what a key holding its scope is answered: the request done, or (ids that
# are no account's own, a body missing a field) the problem of the request itself.
ROUTES = [
    ("GET", "/workers", None, "workers:read", 200),
    ("POST", "/workers", {"first_name": "A", "last_name": "B"}, "workers:write", 201),
    ("PATCH", "/workers?id=1", {"role": "x"}, "workers:write", "not_found"),
    ("GET", "/timesheets", None, "timesheets:read", 200),
    ("POST", "/clock", {"worker_id": 1, "action": "in"}, "clock:write", "not_found"),
    ("GET", "/locations", None, "locations:read", 200),
    ("POST", "/locations", {"name": "A", "timezone": "Europe/London"}, "locations:write", 201),
    ("PATCH", "/locations?id=1", {"name": "B"}, "locations:write", "not_found"),
    ("GET", "/shifts", None, "shifts:read", 200),
    ("POST", "/shifts", {"location_id": 1}, "shifts:write", "missing_field"),
    ("GET", "/departments", None, "departments:read", 200),
    ("GET", "/cost-codes", None, "cost_codes:read", 200),
    ("GET", "/webhooks", None, "webhooks:read", 200),
    ("POST", "/webhooks", {"url": "https://example.com/hook"}, "webhooks:write", 201),
    ("PUT", "/webhooks?id=1", {"active": False}, "webhooks:write", "not_found"),
    ("DELETE", "/webhooks?id=1", None, "webhooks:write", "not_found"),
    ("GET", "/on-site-now", None, "timesheets:read", 200),
    ("GET", "/events", None, "events:read", 200),
]
PROBLEM_STATUS = {"not_found": 404, "missing_field": 400}


@pytest.mark.parametrize(("method", "path", "body", "scope", "answer"), ROUTES,
                         ids=[f"{m} {p}" for m, p, *_ in ROUTES])
def test_a_key_without_the_scope_is_forbidden_and_told_which(api, tenant, method, path, body,
                                                             scope, answer):
    other = "events:read" if scope != "events:read" else "workers:read"
    key, _ = issue(tenant.account_id, scopes=[other])
    with api.client(key) as c:
        response = c.request(method, path, json=body)
        refused = problem(response, 403, "scope_missing")
        assert scope in refused["message"]
    key, _ = issue(tenant.account_id, scopes=[scope])
    with api.client(key) as c:
        response = c.request(method, path, json=body)
    if isinstance(answer, int):
        assert response.status_code == answer, response.text
        assert "data" in response.json()
    else:
        problem(response, PROBLEM_STATUS[answer], answer)


def test_a_key_without_the_scope_hears_so_before_anything_about_its_request(api, tenant):
    key, _ = issue(tenant.account_id, scopes=["events:read"])
    with api.client(key) as c:
        assert problem(c.get("/workers?limit=lots"), 403, "scope_missing")
        assert problem(c.post("/clock", json={"worker_id": "x", "surprise": 1}), 403,
                       "scope_missing")


def test_a_key_with_no_scopes_has_full_access(client):
    for path in ("/workers", "/timesheets", "/events", "/webhooks", "/on-site-now"):
        assert client.get(path).status_code == 200


def test_the_docs_and_the_openapi_document_are_public(api):
    assert httpx.get(f"{api.url}/api/v1/openapi.json").status_code == 200
    assert httpx.get(f"{api.url}/docs").status_code == 200


def test_unknown_paths_need_a_key_too(api):
    with api.client() as c:
        problem(c.get("/nothing-here"), 401, "key_missing")


def test_an_address_that_keeps_failing_is_slowed_down(tmp_path):
    guarded = start_api(load_config(tmp_path / "guarded"), auth_failures_per_window=5)
    try:
        good = make_tenant()
        with httpx.Client(base_url=f"{guarded.url}/api/v1") as c:
            bad = {"Authorization": f"Bearer {keys.generate_key()}"}
            for _ in range(5):
                assert c.get("/workers", headers=bad).status_code == 401
            refused = c.get("/workers", headers=bad)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            # A right key is still admitted: others on the same PC are not locked out.
            admitted = c.get("/workers", headers={"Authorization": f"Bearer {good.key}"})
            assert admitted.status_code == 200
    finally:
        guarded.thread.stop()


def logs_of(request_id: str) -> api_logs.ApiLog:
    deadline = time.monotonic() + 30  # a loaded CI box can be slow to flush
    while time.monotonic() < deadline:
        for entry in api_logs.list_logs(limit=500):
            if entry.request_id == request_id:
                return entry
        time.sleep(0.05)
    raise AssertionError(f"no log entry for request {request_id}")


def test_requests_with_valid_and_invalid_keys_are_logged_without_the_key(api, tenant):
    unknown = keys.generate_key()
    with api.client(tenant.key, **{"User-Agent": "ATS-Sync/2.0"}) as c:
        ok = c.get(f"/workers?active=1&api_key={tenant.key}&token=abc")
        missing = c.get("/workers/999999")
    with api.client(unknown) as c:
        refused = c.get(f"/workers?q={unknown}")
    good = logs_of(ok.headers["x-request-id"])
    assert (good.account_id, good.key_id, good.key_prefix, good.key_name) == (
        tenant.account_id, tenant.key_id, tenant.key[:16], "Integration")
    assert (good.method, good.path, good.status, good.error_code) == (
        "GET", "/api/v1/workers", 200, None)
    assert good.query == "active=1"
    assert good.user_agent == "ATS-Sync/2.0" and good.client == "127.0.0.1"
    assert good.duration_ms > 0
    assert logs_of(missing.headers["x-request-id"]).error_code == "not_found"
    bad = logs_of(refused.headers["x-request-id"])
    assert (bad.status, bad.error_code, bad.account_id, bad.key_id) == (
        401, "key_unknown", None, None)
    for entry in (good, bad):
        text = str(entry)
        assert tenant.key not in text and unknown not in text
        assert tenant.key[16:] not in text and unknown[8:] not in text


def test_a_revoked_keys_requests_are_logged_under_its_name(api, tenant, client):
    keys.revoke_key(tenant.key_id)
    refused = client.get("/workers")
    entry = logs_of(refused.headers["x-request-id"])
    assert (entry.status, entry.error_code, entry.key_id, entry.account_id, entry.key_name) == (
        401, "key_revoked", tenant.key_id, tenant.account_id, "Integration")


def test_a_request_without_any_key_is_not_logged(api, client):
    with api.client() as c:
        response = c.get("/workers")
    assert response.status_code == 401
    # The log is written in arrival order (one queue): once a later request's entry is in,
    # the keyless one would be too, however slow the flush.
    logs_of(client.get("/workers").headers["x-request-id"])
    assert all(e.request_id != response.headers["x-request-id"]
               for e in api_logs.list_logs(limit=500))


def test_a_key_records_when_it_was_last_used(api, tenant, client):
    client.get("/workers")
    deadline = time.monotonic() + 5
    stored = None
    while time.monotonic() < deadline:
        stored = keys.list_keys(tenant.account_id)
        row = next(k for k in stored if k.id == tenant.key_id)
        if row.last_used_at is not None:
            break
        time.sleep(0.05)
    assert row.last_used_at is not None
