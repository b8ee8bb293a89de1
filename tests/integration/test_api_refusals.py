"""What refusals cost: a client that keeps failing never locks out valid keys, refused known
keys are limited like any other, and a flood of refusals leaves a few counted log rows.

Each test sends from a loopback address of its own (127.0.0.x), so the failures of one
never block another; the server only counts 5 failures per address or key prefix. Every
test runs with the in-memory limits and with the Redis ones `serve --workers N` shares.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import store_backends
from api_tenants import Api, issue, make_tenant, start_api

from tempclock.api.config import load_config
from tempclock.api.http.ratelimit import RedisRateLimitStore
from tempclock.api.services import accounts, api_logs, keys

FAILURES_ALLOWED = 5
TEMPCLOCK = [sys.executable, "-m", "tempclock.api.cli"]
_addresses = itertools.count()  # 127.0.0.2 and on: never reused


@pytest.fixture(scope="module", params=[
    "memory",
    pytest.param("redis", marks=pytest.mark.skipif(store_backends.REDIS_URL is None,
                                                   reason=store_backends.NO_REDIS)),
])
def guarded(request, tmp_path_factory) -> Iterator[Api]:
    store = (RedisRateLimitStore(store_backends.REDIS_URL, namespace=uuid.uuid4().hex)
             if request.param == "redis" else None)
    running = start_api(load_config(tmp_path_factory.mktemp("guarded")), store=store,
                        auth_failures_per_window=FAILURES_ALLOWED)
    yield running
    running.thread.stop()


def client_from(api: Api, address: str, key: str | None = None) -> httpx.Client:
    """A client whose requests come from `address` (any 127.x address is loopback)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=f"{api.url}/api/v1", headers=headers, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def fresh_address() -> str:
    n = next(_addresses)
    return f"127.0.{n // 250}.{n % 250 + 2}"


def block(api: Api, address: str) -> None:
    """Fail from `address` until it is refused with 429."""
    with client_from(api, address) as c:
        for _ in range(FAILURES_ALLOWED):
            assert c.get("/workers").status_code == 401
        assert c.get("/workers").status_code == 429


def test_a_valid_key_is_admitted_from_an_address_whose_other_clients_keep_failing(guarded):
    tenant = make_tenant()
    address = fresh_address()
    block(guarded, address)
    with client_from(guarded, address, keys.generate_key()) as guessing:
        refused = guessing.get("/workers")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    with client_from(guarded, address, tenant.key) as valid:
        for _ in range(3):
            response = valid.get("/workers")
            assert response.status_code == 200, response.text
    assert response.headers["x-ratelimit-limit"] == "100000"


def test_a_valid_key_from_a_blocked_address_is_still_held_to_its_own_limit(guarded):
    tenant = make_tenant()
    key, _ = issue(tenant.account_id, "Three a minute", rate_limit=3)
    address = fresh_address()
    block(guarded, address)
    with client_from(guarded, address, key) as c:
        statuses = [c.get("/workers").status_code for _ in range(4)]
        refused = c.get("/workers")
    assert statuses == [200, 200, 200, 429]
    assert refused.json()["message"] == "Rate limit exceeded. Maximum 3 requests per minute."


def test_guessing_at_one_key_prefix_is_slowed_from_every_address_but_the_key_still_works(
        guarded):
    tenant = make_tenant()
    prefix = tenant.key[:16]
    guesses = [keys.generate_key() for _ in range(FAILURES_ALLOWED + 1)]
    statuses = []
    for guess in guesses:  # each from another address: only the prefix ties them together
        wrong = prefix + guess[16:]
        with client_from(guarded, fresh_address(), wrong) as c:
            statuses.append(c.get("/workers").status_code)
    assert statuses == [401] * FAILURES_ALLOWED + [429]
    with client_from(guarded, fresh_address(), tenant.key) as c:
        assert c.get("/workers").status_code == 200


def test_keys_with_other_prefixes_are_not_slowed_by_guesses_at_one_prefix(guarded):
    address = fresh_address()
    target = keys.generate_key()
    for _ in range(FAILURES_ALLOWED):
        with client_from(guarded, fresh_address(), target) as c:
            assert c.get("/workers").status_code == 401
    with client_from(guarded, address, keys.generate_key()) as c:
        assert c.get("/workers").status_code == 401  # an honest typo elsewhere: told so


@pytest.mark.parametrize("refusal", ["api_disabled", "key_revoked", "scope_missing"])
def test_a_refused_known_key_counts_against_its_own_window(guarded, refusal):
    tenant = make_tenant()
    scopes = ["events:read"] if refusal == "scope_missing" else []
    key, key_id = issue(tenant.account_id, "Refused", rate_limit=5, scopes=scopes)
    if refusal == "api_disabled":
        accounts.set_api_enabled(tenant.account_id, False)
    elif refusal == "key_revoked":
        keys.revoke_key(key_id)
    with client_from(guarded, fresh_address(), key) as c:
        responses = [c.get("/workers") for _ in range(7)]
    codes = [r.json()["code"] for r in responses]
    assert codes == [refusal] * 5 + ["rate_limited"] * 2
    assert [r.status_code for r in responses][-1] == 429
    assert responses[-1].headers["retry-after"] == responses[-1].headers["x-ratelimit-reset"]
    assert responses[0].headers["x-ratelimit-remaining"] == "4"


async def flood(api: Api, address: str, count: int, headers: list[dict[str, str]]) -> list[int]:
    """`count` requests from `address`, cycling through `headers`, 20 at a time."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=f"{api.url}/api/v1", transport=transport,
                                 timeout=60) as client:
        gate = asyncio.Semaphore(20)

        async def one(n: int) -> int:
            async with gate:
                response = await client.get("/workers", headers=headers[n % len(headers)])
                return response.status_code

        return await asyncio.gather(*(one(n) for n in range(count)))


def refusal_rows(address: str, expected: int) -> list[api_logs.ApiLog]:
    """The 429 rows logged for `address`, once their counts reach `expected` (or time is up)."""
    deadline = time.monotonic() + 30
    rows: list[api_logs.ApiLog] = []
    while time.monotonic() < deadline:
        rows = [r for r in api_logs.list_logs(status="429", limit=10_000) if r.client == address]
        if sum(r.count for r in rows) >= expected:
            break
        time.sleep(0.1)
    return rows


def test_a_flood_of_refusals_from_a_blocked_address_is_logged_as_a_few_counted_rows(guarded):
    address = fresh_address()
    block(guarded, address)  # the sixth of those was the first refusal
    # A thousand refusals in seconds is a flood: the rows stay a few (one per minute) as they
    # would for more, and it ends within a minute or two even on a loaded two-core box.
    flooding = 1000
    headers = [{}, {"Authorization": f"Bearer {keys.generate_key()}"},
               {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic eDp5"}]
    statuses = asyncio.run(flood(guarded, address, flooding, headers))
    assert statuses == [429] * flooding
    rows = refusal_rows(address, flooding + 1)
    assert sum(r.count for r in rows) == flooding + 1  # every refusal is there, counted
    assert len(rows) <= 4  # one per minute (a flood may straddle a minute, or two)
    assert all(r.error_code == "rate_limited" and r.key_id is None for r in rows)
    shown = subprocess.run([*TEMPCLOCK, "logs", "--status", "429", "--limit", "10000",
                            "--data-dir", str(guarded.config.data_dir)],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    header, _rule, *lines = shown.splitlines()
    count_at = header.index("Count")
    mine = [line for line in lines if address in line]
    assert sum(int(line[count_at:].split()[0]) for line in mine) == flooding + 1


def test_a_flood_from_a_refused_known_key_is_counted_under_its_name(guarded):
    tenant = make_tenant()
    key, key_id = issue(tenant.account_id, "Switched off", rate_limit=10)
    accounts.set_api_enabled(tenant.account_id, False)
    address = fresh_address()
    statuses = asyncio.run(flood(guarded, address, 500,
                                 [{"Authorization": f"Bearer {key}"}]))
    assert statuses.count(403) == 10 and statuses.count(429) == 490
    rows = refusal_rows(address, 490)
    assert sum(r.count for r in rows) == 490 and len(rows) <= 4
    assert {(r.key_id, r.account_id, r.key_name) for r in rows} == {
        (key_id, tenant.account_id, "Switched off")}
