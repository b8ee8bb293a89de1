"""The gate in front of every API request, in-process (Litestar's TestClient, a real SQLite
store, the real log writer): the answers an integrator sees and the log rows an admin reads.
Fast enough to run once per mutant of api/http/gate.py (bench/mutation.py)."""

from __future__ import annotations

import logging
import re

import local_servers
import pytest
from litestar.testing import TestClient
from migrated_store import config, migrated_data_dir  # noqa: F401 - a migrated store, copied
from store_faults import table_away

from tempclock.api.http import create_app
from tempclock.api.http.gate import AuthGate, new_request_id
from tempclock.api.http.ratelimit import RateLimiter, RedisRateLimitStore
from tempclock.api.services import accounts, api_logs, keys

WORKERS = "/api/v1/workers"


def serve(limiter: RateLimiter | None = None) -> TestClient:
    return TestClient(create_app(limiter=limiter or RateLimiter()))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def refused(response, status: int, code: str) -> dict:
    """The problem JSON of API.md, with the request id of its header."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["content-length"]) == len(response.content)
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def challenged(response) -> bool:
    return response.headers.get("www-authenticate") == 'Bearer realm="TempClock API"'


@pytest.fixture
def key(account):
    return keys.issue_key(account.id, "ATS", rate_limit=5).plaintext


def test_request_ids_are_32_hex_characters_and_never_repeat():
    first, second = new_request_id(), new_request_id()
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second and first[:16] == second[:16]  # one process tag, a counter


def test_a_request_without_a_key_is_challenged_and_not_logged(store):
    with serve() as client:
        response = client.get(WORKERS)
        refused(response, 401, "key_missing")
        assert challenged(response)
        assert "x-ratelimit-limit" not in response.headers
    assert api_logs.list_logs() == []


def test_a_known_key_is_admitted_with_its_rate_headers_and_logged(account, key):
    with serve() as client:
        first = client.get(WORKERS, headers={**bearer(key), "User-Agent": "ats/1.0"})
        second = client.get(f"{WORKERS}?active=1", headers=bearer(key))
    assert first.status_code == 200 and second.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"],
            first.headers["x-ratelimit-reset"]) == ("5", "4", "0")
    assert second.headers["x-ratelimit-remaining"] == "3"
    assert second.headers["ratelimit-policy"] == '"per-key";q=5;w=60'
    assert "www-authenticate" not in first.headers
    newest, oldest = api_logs.list_logs()
    assert (oldest.status, oldest.method, oldest.path, oldest.query) == (200, "GET", WORKERS, "")
    assert oldest.user_agent == "ats/1.0" and newest.user_agent == "testclient"
    assert newest.query == "active=1"
    assert oldest.account_id == account.id and oldest.key_name == "ATS"
    assert oldest.key_prefix == key[:16] and oldest.error_code is None
    assert oldest.client == "testclient"
    assert oldest.request_id == first.headers["x-request-id"]
    assert 0.01 <= oldest.duration_ms < 60_000  # milliseconds: no request takes 10 µs


def asgi_get(client: TestClient, path: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """A GET with the header bytes exactly as a server reads them off the wire (the test
    client re-encodes every header as UTF-8, so it cannot send obs-text); its status."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path.decode(), "raw_path": path,
             "root_path": "", "query_string": b"", "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8787)}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    client.blocking_portal.call(client.app, scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


def test_a_user_agent_that_is_not_utf8_is_logged_as_latin1_not_lost(account, key):
    """RFC 9110's obs-text: a client sending ISO-8859-1 bytes is still answered and its
    user agent still shown to the admin, byte for byte (as tests/integration's
    test_api_log_text checks through uvicorn)."""
    with serve() as client:
        status = asgi_get(client, WORKERS.encode(), [
            (b"host", b"127.0.0.1:8787"), (b"authorization", f"Bearer {key}".encode()),
            (b"user-agent", b"Kasse-Caf\xe9 \xff/2")])
    assert status == 200
    (logged,) = api_logs.list_logs()
    assert logged.user_agent == "Kasse-Caf\u00e9 \u00ff/2" and logged.status == 200


def test_the_scheme_word_is_case_insensitive_but_must_be_bearer(key):
    with serve() as client:
        assert client.get(WORKERS, headers={"Authorization": f"bEaReR {key}"}).status_code == 200
        response = client.get(WORKERS, headers={"Authorization": f"Basic {key}"})
        refused(response, 401, "auth_scheme_unsupported")
        assert challenged(response)
        refused(client.get(WORKERS, headers={"Authorization": key}), 401,
                "auth_scheme_unsupported")


def test_a_key_one_character_off_is_refused_and_its_prefix_logged(account, key):
    typo = key[:-1] + ("0" if key[-1] != "0" else "1")
    with serve() as client:
        response = client.get(WORKERS, headers=bearer(typo))
    refused(response, 401, "key_checksum_invalid")
    assert challenged(response)
    (entry,) = api_logs.list_logs()
    assert (entry.status, entry.error_code) == (401, "key_checksum_invalid")
    assert entry.key_prefix == typo[:16] and entry.account_id is None and entry.key_id is None


def test_only_a_prefix_shaped_like_ours_is_logged(store):
    with serve() as client:
        refused(client.get(WORKERS, headers=bearer("sk_live_" + "a" * 40)), 401,
                "key_malformed")
        refused(client.get(WORKERS, headers=bearer("TC_LIVE_" + "A" * 40)), 401,
                "key_malformed")
    assert [e.key_prefix for e in api_logs.list_logs()] == ["tc_live_aaaaaaaa", None]


def test_the_rate_limit_refuses_the_request_past_it_with_retry_after(account):
    key = keys.issue_key(account.id, "Payroll", rate_limit=2).plaintext
    with serve() as client:
        assert [client.get(WORKERS, headers=bearer(key)).status_code for _ in range(2)] == [200,
                                                                                           200]
        response = client.get(WORKERS, headers=bearer(key))
    body = refused(response, 429, "rate_limited")
    assert "Maximum 2 requests per minute" in body["message"]
    wait = int(response.headers["retry-after"])
    assert 1 <= wait <= 60 and body["retry_after"] == wait
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-reset"] == str(wait)
    assert not challenged(response)
    assert api_logs.list_logs()[0].error_code == "rate_limited"


def test_a_revoked_key_is_refused_counted_and_logged_as_its_own(account, key):
    keys.revoke_key(keys.list_keys(account.id)[0].id)
    with serve() as client:
        response = client.get(WORKERS, headers=bearer(key))
    refused(response, 401, "key_revoked")
    assert challenged(response)
    assert response.headers["x-ratelimit-remaining"] == "4"
    (entry,) = api_logs.list_logs()
    assert (entry.account_id, entry.key_name, entry.error_code) == (account.id, "ATS",
                                                                    "key_revoked")


def test_a_key_refused_for_its_account_is_forbidden_without_a_challenge(account, key):
    accounts.set_api_enabled(account.id, False)
    with serve() as client:
        response = client.get(WORKERS, headers=bearer(key))
    refused(response, 403, "api_disabled")
    assert not challenged(response)


def test_a_refused_known_key_gets_429_once_its_window_is_full(account):
    key = keys.issue_key(account.id, "Old", rate_limit=1).plaintext
    keys.revoke_key(keys.list_keys(account.id)[0].id)
    with serve() as client:
        refused(client.get(WORKERS, headers=bearer(key)), 401, "key_revoked")
        response = client.get(WORKERS, headers=bearer(key))
    refused(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) >= 1


def test_an_address_that_failed_too_often_is_blocked_but_a_valid_key_is_not(key):
    limiter = RateLimiter(auth_failures_per_window=3)
    with serve(limiter) as client:
        for _ in range(3):
            refused(client.get(WORKERS, headers=bearer("nonsense")), 401, "key_malformed")
        response = client.get(WORKERS, headers=bearer("nonsense"))
        body = refused(response, 429, "rate_limited")
        assert int(response.headers["retry-after"]) >= 1
        assert f"retry in {response.headers['retry-after']} seconds" in body["message"]
        assert not challenged(response)
        refused(client.get(WORKERS), 429, "rate_limited")  # no key at all: the address counts
        assert client.get(WORKERS, headers=bearer(key)).status_code == 200
    blocked = api_logs.list_logs(status="429")
    assert all(e.client == "testclient" for e in blocked)
    assert sum(e.count for e in blocked) == 2  # the keyless 429 is logged too


def test_guessing_at_one_key_prefix_is_blocked_whatever_the_key(account, key):
    limiter = RateLimiter(auth_failures_per_window=2)
    guesses = [key[:16] + keys.generate_key()[16:] for _ in range(3)]
    with serve(limiter) as client:
        for guess in guesses[:2]:
            assert client.get(WORKERS, headers=bearer(guess)).status_code == 401
    # The address's count is full too: a fresh limiter whose address count was spent
    # elsewhere cannot tell them apart, so check the prefix on its own.
    assert limiter.failures_blocked("elsewhere", key[:16]) is not None
    assert limiter.failures_blocked("elsewhere", None) is None


def test_a_flood_of_failures_is_logged_under_many_addresses(store):
    limiter = RateLimiter(auth_failures_per_window=1000, auth_failures_logged_per_window=2)
    with serve(limiter) as client:
        for _ in range(4):
            refused(client.get(WORKERS, headers=bearer("nonsense")), 401, "key_malformed")
    clients = sorted(e.client for e in api_logs.list_logs())
    assert "testclient" in clients and api_logs.MANY_ADDRESSES in clients


def test_public_pages_need_no_key_but_get_a_request_id(store):
    with serve() as client:
        spec = client.get("/api/v1/openapi.json")
        docs = client.get("/docs")
    assert spec.status_code == 200 and re.fullmatch(r"[0-9a-f]{32}", spec.headers["x-request-id"])
    assert docs.status_code == 200 and "x-request-id" in docs.headers
    assert "x-ratelimit-limit" not in spec.headers
    assert api_logs.list_logs() == []


def test_an_unreachable_redis_is_a_logged_500_that_reveals_nothing(key, caplog):
    redis = local_servers.Started()
    local_servers.start_redis(redis)
    if "redis" not in redis.urls:
        pytest.skip(f"redis: {redis.problems.get('redis')}")
    died = RedisRateLimitStore(redis.urls["redis"])  # connected...
    redis.stop()  # ...then its server is gone, as when Redis dies under a running host
    with serve(RateLimiter(died)) as client:
        response = client.get(WORKERS, headers=bearer(key))
    refused(response, 500, "internal_error")
    assert "127.0.0.1" not in response.text and "Connection" not in response.text
    assert "rate limit check failed" in caplog.text
    (entry,) = api_logs.list_logs()
    assert (entry.status, entry.error_code) == (500, "internal_error")


def test_a_key_check_the_store_cannot_answer_is_a_logged_500_and_the_key_works_after(
        key, store, caplog):
    with serve() as client:
        with table_away("api_key"), caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
            response = client.get(WORKERS, headers=bearer(key))
        body = refused(response, 500, "internal_error")
        for internal in ("api_key", "Traceback", "OperationalError", "sqlite", ".py"):
            assert internal not in response.text, internal
        (record,) = [r for r in caplog.records if body["request_id"] in r.getMessage()]
        assert record.getMessage().startswith("key check failed")
        assert record.exc_info is not None  # with its traceback, for whoever reads the log
        assert client.get(WORKERS, headers=bearer(key)).status_code == 200  # the very next
    # The admin finds the failed request in the API logs, under its request id.
    assert [(e.request_id, e.status) for e in api_logs.list_logs() if e.status == 500] == [
        (body["request_id"], 500)]


def test_a_request_the_app_fails_without_answering_is_logged_as_a_500(account, key):
    async def crashes(scope, receive, send):
        raise RuntimeError("the router fell over")

    writer = api_logs.ApiLogWriter()
    gate = AuthGate(crashes, limiter=RateLimiter(), log_writer=writer)
    writer.start()
    try:
        with pytest.raises(RuntimeError, match="fell over"):
            TestClient(gate).get(WORKERS, headers=bearer(key))  # no lifespan: it would crash
    finally:
        writer.close()
    (entry,) = api_logs.list_logs()
    assert (entry.status, entry.key_name) == (500, "ATS")
