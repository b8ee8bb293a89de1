"""Rate limits per key: a rolling minute, exact under concurrency, with the headers of API.md."""

from __future__ import annotations

import asyncio

import httpx
from api_tenants import issue


async def burst(url: str, key: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        return await asyncio.gather(*(client.get("/workers") for _ in range(count)))


def test_a_hundred_simultaneous_requests_with_a_fresh_key_give_exactly_sixty(api, tenant):
    key, _ = issue(tenant.account_id, "Fresh")  # the default: 60 a minute
    responses = asyncio.run(burst(api.url, key, 100))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 60
    assert statuses.count(429) == 40
    refused = next(r for r in responses if r.status_code == 429)
    body = refused.json()
    assert body["message"] == "Rate limit exceeded. Maximum 60 requests per minute."
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining"] == "0"
    remaining = sorted(int(r.headers["x-ratelimit-remaining"]) for r in responses
                       if r.status_code == 200)
    assert remaining == list(range(60))


def test_keys_are_limited_independently(api, tenant):
    first, _ = issue(tenant.account_id, "First", rate_limit=5)
    second, _ = issue(tenant.account_id, "Second", rate_limit=5)
    assert [r.status_code for r in asyncio.run(burst(api.url, first, 6))].count(200) == 5
    assert [r.status_code for r in asyncio.run(burst(api.url, second, 6))].count(200) == 5


def test_every_authenticated_response_carries_the_rate_limit_headers(api, tenant):
    key, _ = issue(tenant.account_id, "Headers", rate_limit=3)
    with api.client(key) as c:
        first = c.get("/workers")
        missing = c.get("/workers/999999")
        assert missing.status_code == 404
        last = c.get("/workers")
        refused = c.get("/workers")
    assert first.headers["x-ratelimit-limit"] == "3"
    assert first.headers["x-ratelimit-remaining"] == "2"
    assert first.headers["x-ratelimit-reset"] == "0"
    assert first.headers["ratelimit-policy"] == '"per-key";q=3;w=60'
    assert first.headers["ratelimit"] == '"per-key";r=2;t=0'
    assert missing.headers["x-ratelimit-remaining"] == "1"
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(last.headers["x-ratelimit-reset"]) <= 60
    assert refused.status_code == 429
    assert refused.json()["message"] == "Rate limit exceeded. Maximum 3 requests per minute."
    assert refused.headers["retry-after"] == refused.headers["x-ratelimit-reset"]
