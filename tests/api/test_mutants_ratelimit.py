"""The rate limits' promises the mutation run (bench/mutation.py) found unchecked: the
defaults an integrator reads in API.md, a lowered limit, long pauses, peeks, sweeps of idle
buckets, the logged-failure budget, and Redis namespaces."""

from __future__ import annotations

import time
import uuid

import pytest
import store_backends

from tempclock.api.http.ratelimit import (
    MemoryRateLimitStore,
    RateDecision,
    RateLimiter,
    RedisRateLimitStore,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_60_seconds_of_window_by_default():
    clock = Clock()
    limiter = RateLimiter(MemoryRateLimitStore(clock=clock))
    assert limiter.take_for_key(7, 1).allowed
    clock.now += 59.5
    refused = limiter.take_for_key(7, 1)
    assert not refused.allowed and refused.reset == 1 and refused.window == 60
    clock.now += 0.5
    assert limiter.take_for_key(7, 1).allowed


def test_an_address_is_blocked_on_its_31st_failure_by_default():
    limiter = RateLimiter()
    for _ in range(29):
        limiter.count_auth_failure("192.0.2.1", None)
    assert limiter.failures_blocked("192.0.2.1", None) is None
    limiter.count_auth_failure("192.0.2.1", None)
    blocked = limiter.failures_blocked("192.0.2.1", None)
    assert blocked is not None and blocked.limit == 30


def test_failures_are_logged_one_by_one_up_to_600_a_minute_by_default():
    limiter = RateLimiter()
    assert [limiter.failure_flood() for _ in range(600)] == [False] * 600
    assert limiter.failure_flood()


def test_a_lowered_limit_refuses_at_once_and_never_shows_negative_remaining():
    store = MemoryRateLimitStore(clock=Clock())
    for _ in range(5):
        assert store.acquire("key:1", 10, 60).allowed
    lowered = store.acquire("key:1", 3, 60)
    assert (lowered.allowed, lowered.remaining) == (False, 0)
    assert store.peek("key:1", 3, 60).remaining == 0


def test_after_a_long_pause_the_window_is_empty_again():
    clock = Clock()
    store = MemoryRateLimitStore(clock=clock)
    assert store.acquire("k", 1, 60).allowed
    clock.now += 3600
    decision = store.acquire("k", 1, 60)
    assert decision.allowed and decision.remaining == 0


def test_peeking_at_a_counted_bucket_takes_nothing():
    clock = Clock()
    store = MemoryRateLimitStore(clock=clock)
    assert store.acquire("k", 2, 60).allowed
    for _ in range(3):
        assert store.peek("k", 2, 60).remaining == 1
    assert store.acquire("k", 2, 60).allowed


def test_peeking_at_an_unseen_bucket_allows_with_the_whole_limit_and_no_wait():
    assert MemoryRateLimitStore().peek("never", 5, 60) == RateDecision(True, 5, 5, 0, 60)


def test_idle_buckets_are_forgotten_every_10000_decisions_not_before():
    clock = Clock()
    store = MemoryRateLimitStore(clock=clock)
    store.acquire("idle", 1, 60)
    clock.now += 120
    for _ in range(9_998):
        store.acquire("busy", 1_000_000, 60)
    assert "idle" in store._logs  # 9,999 decisions: no sweep yet
    store.acquire("busy", 1_000_000, 60)
    assert "idle" not in store._logs and "busy" in store._logs


def test_a_sweep_keeps_the_requests_still_in_a_window():
    clock = Clock()
    store = MemoryRateLimitStore(clock=clock, sweep_every=3)
    assert store.acquire("k", 2, 60).allowed  # at 1000
    clock.now += 50
    assert store.acquire("k", 2, 60).allowed  # at 1050
    clock.now += 20  # 1070: the first has left the window, the second has not
    decision = store.acquire("k", 2, 60)  # the third decision sweeps first: k must stay
    assert (decision.allowed, decision.remaining, decision.reset) == (True, 0, 40)
    assert not store.acquire("k", 2, 60).allowed


# --- Redis ---------------------------------------------------------------------------------

needs_redis = pytest.mark.skipif(store_backends.REDIS_URL is None, reason=store_backends.NO_REDIS)


def fresh() -> str:
    return f"test:{uuid.uuid4().hex}"


@needs_redis
def test_stores_in_other_namespaces_share_no_window_and_the_same_one_shares_it():
    bucket, space = fresh(), uuid.uuid4().hex
    first = RedisRateLimitStore(store_backends.REDIS_URL, namespace=space)
    assert first.acquire(bucket, 1, 60).allowed
    assert not RedisRateLimitStore(store_backends.REDIS_URL, namespace=space).acquire(
        bucket, 1, 60).allowed
    assert RedisRateLimitStore(store_backends.REDIS_URL, namespace=fresh()).acquire(
        bucket, 1, 60).allowed
    assert RedisRateLimitStore(store_backends.REDIS_URL).acquire(bucket, 1, 60).allowed


@needs_redis
def test_redis_answers_like_memory_on_a_lowered_limit_and_a_short_wait():
    store = RedisRateLimitStore(store_backends.REDIS_URL)
    bucket = fresh()
    allowed = store.acquire(bucket, 10, 1)
    assert (allowed.allowed, allowed.remaining, allowed.reset) == (True, 9, 0)
    for _ in range(4):
        store.acquire(bucket, 10, 1)
    lowered = store.acquire(bucket, 3, 1)
    assert (lowered.allowed, lowered.remaining, lowered.reset) == (False, 0, 1)


@needs_redis
def test_a_key_allowed_one_request_a_minute_is_told_to_wait_exactly_the_minute():
    """The request that fills the window is its oldest: X-RateLimit-Reset is the whole
    window, 60 seconds, in Redis as in memory, never 61."""
    in_redis = RedisRateLimitStore(store_backends.REDIS_URL).acquire(fresh(), 1, 60)
    in_memory = MemoryRateLimitStore().acquire(fresh(), 1, 60)
    assert (in_redis.allowed, in_redis.remaining, in_redis.reset) == (True, 0, 60)
    assert in_redis == in_memory


def test_a_redis_store_for_a_server_that_is_not_there_fails_when_built_not_at_a_request():
    """The host cannot start into answering every request 500: the store connects at once."""
    import socket

    import redis

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(redis.ConnectionError):
        RedisRateLimitStore(f"redis://127.0.0.1:{port}/0")


def test_an_unresponsive_redis_is_waited_for_two_seconds_not_less():
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        started = time.monotonic()
        with pytest.raises(Exception, match="(?i)timeout|timed out"):
            RedisRateLimitStore(f"redis://127.0.0.1:{silent.getsockname()[1]}/0").check()
        waited = time.monotonic() - started
    assert waited >= 1.9  # no upper bound: a loaded CI box adds its own delays
