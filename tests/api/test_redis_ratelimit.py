"""The rate limits several server processes share, in Redis: the same answers as in memory."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import store_backends

from tempclock.api.http.ratelimit import RateLimiter, RedisRateLimitStore

pytestmark = pytest.mark.skipif(store_backends.REDIS_URL is None, reason=store_backends.NO_REDIS)


@pytest.fixture
def store():
    return RedisRateLimitStore(store_backends.REDIS_URL)


def fresh() -> str:
    return f"test:{uuid.uuid4().hex}"


def test_a_full_window_refuses_and_says_when_its_oldest_request_leaves(store):
    bucket = fresh()
    assert [store.acquire(bucket, 3, 2).remaining for _ in range(3)] == [2, 1, 0]
    refused = store.acquire(bucket, 3, 2)
    assert (refused.allowed, refused.limit, refused.remaining, refused.reset) == (False, 3, 0, 2)
    time.sleep(2.05)
    again = store.acquire(bucket, 3, 2)
    assert again.allowed and again.remaining == 2


def test_refused_requests_and_peeks_take_nothing(store):
    bucket = fresh()
    for _ in range(5):
        assert store.peek(bucket, 1, 60).allowed
    assert store.acquire(bucket, 1, 60).allowed
    for _ in range(5):
        assert not store.acquire(bucket, 1, 60).allowed
    assert store.peek(bucket, 1, 60).remaining == 0


def test_the_limit_is_exact_across_connections(store):
    """Each thread has a store of its own (its own connection), as each server process does."""
    bucket = fresh()
    stores = [RedisRateLimitStore(store_backends.REDIS_URL) for _ in range(8)]
    allowed: list[bool] = []
    barrier = threading.Barrier(len(stores))

    def hammer(own: RedisRateLimitStore) -> None:
        barrier.wait()
        allowed.extend(own.acquire(bucket, 60, 60).allowed for _ in range(25))

    threads = [threading.Thread(target=hammer, args=(own,)) for own in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 60
    assert len(allowed) == 200


def test_keys_and_addresses_are_limited_apart(store):
    limiter = RateLimiter(store, auth_failures_per_window=1)
    key = uuid.uuid4().int % 10**9
    assert limiter.take_for_key(key, 1).allowed
    assert not limiter.take_for_key(key, 1).allowed
    address = f"10.{uuid.uuid4().int % 250}.0.1"
    assert limiter.failures_blocked(address, None) is None
    limiter.count_auth_failure(address, None)
    assert limiter.failures_blocked(address, None) is not None


def test_failures_are_limited_per_address_and_per_key_prefix_as_in_memory(store):
    limiter = RateLimiter(RedisRateLimitStore(store_backends.REDIS_URL,
                                              namespace=uuid.uuid4().hex),
                          auth_failures_per_window=2)
    limiter.count_auth_failure("10.0.0.1", "tc_live_aaaa1111")
    limiter.count_auth_failure("10.0.0.2", "tc_live_aaaa1111")
    assert limiter.failures_blocked("10.0.0.3", "tc_live_aaaa1111") is not None
    assert limiter.failures_blocked("10.0.0.3", "tc_live_bbbb2222") is None
    limiter.count_auth_failure("10.0.0.1", "tc_live_bbbb2222")
    blocked = limiter.failures_blocked("10.0.0.1", "tc_live_cccc3333")
    assert blocked is not None and 1 <= blocked.reset <= 60


def test_a_redis_that_forgot_the_script_is_given_it_again(store):
    bucket = fresh()
    assert store.acquire(bucket, 2, 60).allowed
    store.client.script_flush()  # as after Redis restarts
    assert store.acquire(bucket, 2, 60).remaining == 0
