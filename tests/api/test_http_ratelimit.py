"""The rolling-window limiter on its own, with a clock the test controls."""

from __future__ import annotations

import threading

from tempclock.api.http.ratelimit import MemoryRateLimitStore, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_rolls_one_request_at_a_time():
    clock = FakeClock()
    store = MemoryRateLimitStore(clock=clock)
    for second in range(3):
        clock.now = 1000.0 + second * 10
        assert store.acquire("k", 3, 60).allowed
    refused = store.acquire("k", 3, 60)
    assert (refused.allowed, refused.remaining, refused.reset) == (False, 0, 40)
    clock.now = 1060.0  # the first request leaves the window
    again = store.acquire("k", 3, 60)
    assert again.allowed and again.remaining == 0 and again.reset == 10
    assert not store.acquire("k", 3, 60).allowed


def test_refused_requests_do_not_use_up_the_window():
    clock = FakeClock()
    store = MemoryRateLimitStore(clock=clock)
    assert store.acquire("k", 1, 60).allowed
    for _ in range(10):
        assert not store.acquire("k", 1, 60).allowed
    clock.now += 60
    assert store.acquire("k", 1, 60).allowed


def test_peeking_takes_nothing():
    store = MemoryRateLimitStore()
    for _ in range(5):
        assert store.peek("k", 1, 60).allowed
    assert store.acquire("k", 1, 60).allowed


def test_the_limit_is_exact_across_threads():
    store = MemoryRateLimitStore()
    allowed = []
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        allowed.extend(d.allowed for d in (store.acquire("k", 500, 60) for _ in range(100)))

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 500


def test_idle_buckets_are_forgotten():
    clock = FakeClock()
    store = MemoryRateLimitStore(clock=clock, sweep_every=3)
    store.acquire("a", 5, 60)
    clock.now += 120
    store.acquire("b", 5, 60)
    store.acquire("b", 5, 60)
    assert "a" not in store._logs


def test_failed_authentications_block_an_address_after_the_allowance():
    limiter = RateLimiter(auth_failures_per_window=2)
    assert limiter.failures_blocked("10.0.0.1", None) is None
    limiter.count_auth_failure("10.0.0.1", "tc_live_aaaa1111")
    limiter.count_auth_failure("10.0.0.1", "tc_live_bbbb2222")
    assert limiter.failures_blocked("10.0.0.1", None) is not None
    assert limiter.failures_blocked("10.0.0.2", "tc_live_cccc3333") is None


def test_failures_at_one_key_prefix_block_it_from_every_address():
    limiter = RateLimiter(auth_failures_per_window=2)
    limiter.count_auth_failure("10.0.0.1", "tc_live_aaaa1111")
    limiter.count_auth_failure("10.0.0.2", "tc_live_aaaa1111")
    blocked = limiter.failures_blocked("10.0.0.3", "tc_live_aaaa1111")
    assert blocked is not None and blocked.reset >= 1
    assert limiter.failures_blocked("10.0.0.3", "tc_live_dddd4444") is None


def test_headers_name_limit_remaining_and_reset():
    decision = MemoryRateLimitStore().acquire("k", 60, 60)
    assert dict(decision.headers()) == {
        b"x-ratelimit-limit": b"60",
        b"x-ratelimit-remaining": b"59",
        b"x-ratelimit-reset": b"0",
        b"ratelimit-policy": b'"per-key";q=60;w=60',
        b"ratelimit": b'"per-key";r=59;t=0',
    }
