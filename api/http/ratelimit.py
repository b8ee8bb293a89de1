"""Rate limits: a rolling window per bucket (a key, or a client address), exact under concurrency.

The storage is an interface so several server processes can share one: the
in-memory store serves the single-process host, `RedisRateLimitStore` the
workers of `tempclock serve --workers N`. Its one operation is atomic: "take a
slot in bucket B with limit L over window W" answers whether it was allowed, how
many remain, and how long until the next slot frees.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple, Protocol

WINDOW_SECONDS = 60


class RateDecision(NamedTuple):
    """The outcome of taking (or looking at) a slot."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until a request is next allowed; 0 when one is allowed now
    window: int

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The rate-limit headers of API.md: X-RateLimit-* and the IETF pair."""
        limit, policy = _policy_headers(self.limit, self.window)
        remaining, reset = b"%d" % self.remaining, b"%d" % self.reset
        return [
            limit,
            (b"x-ratelimit-remaining", remaining),
            (b"x-ratelimit-reset", reset),
            policy,
            (b"ratelimit", b'"per-key";r=%b;t=%b' % (remaining, reset)),
        ]


@functools.lru_cache(maxsize=256)
def _policy_headers(limit: int, window: int) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
    """The headers that stay the same for a key (its limit and window), encoded once:
    a third of `RateDecision.headers`' cost on every request."""
    return ((b"x-ratelimit-limit", b"%d" % limit),
            (b"ratelimit-policy", b'"per-key";q=%d;w=%d' % (limit, window)))


class RateLimitStore(Protocol):
    """Where the windows live. Both operations must be atomic per bucket."""

    def acquire(self, bucket: str, limit: int, window: int) -> RateDecision:
        """Take one slot if fewer than `limit` were taken in the last `window` seconds."""
        ...

    def peek(self, bucket: str, limit: int, window: int) -> RateDecision:
        """The decision `acquire` would make, without taking a slot."""
        ...


class MemoryRateLimitStore:
    """Sliding logs in this process: the exact times of the requests still in each window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sweep_every: int = 10_000):
        self._clock = clock
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0
        self._sweep_every = sweep_every

    def acquire(self, bucket: str, limit: int, window: int) -> RateDecision:
        return self._decide(bucket, limit, window, take=True)

    def peek(self, bucket: str, limit: int, window: int) -> RateDecision:
        if not self._logs.get(bucket):  # nothing counted (every well-behaved client address)
            return RateDecision(True, limit, limit, 0, window)
        return self._decide(bucket, limit, window, take=False)

    def _decide(self, bucket: str, limit: int, window: int, *, take: bool) -> RateDecision:
        now = self._clock()
        with self._lock:
            self._calls += 1
            if self._calls % self._sweep_every == 0:
                self._sweep(now, window)
            times = self._logs.get(bucket)
            if times is None:
                times = self._logs[bucket] = deque()
            cutoff = now - window
            while times and times[0] <= cutoff:
                times.popleft()
            allowed = len(times) < limit
            if allowed and take:
                times.append(now)
            remaining = max(0, limit - len(times))
            reset = 0 if remaining else max(1, math.ceil(times[0] + window - now))
        return RateDecision(allowed, limit, remaining, reset, window)

    def _sweep(self, now: float, window: int) -> None:
        """Forget buckets with nothing left in their window (idle keys and addresses)."""
        for bucket in [b for b, t in self._logs.items() if not t or t[-1] <= now - window]:
            del self._logs[bucket]


# The sliding log of MemoryRateLimitStore as one Lua script, which Redis runs atomically:
# a sorted set of the request times (Redis's own clock, so every process agrees) still in
# the window. Returns whether the slot was allowed, how many slots are taken, and the
# microseconds until the oldest one leaves the window.
_SLIDING_LOG = """
local bucket, limit, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', bucket, '-inf', now - window)
local taken = redis.call('ZCARD', bucket)
local allowed = taken < limit
if allowed and ARGV[3] == '1' then
  redis.call('ZADD', bucket, now, ARGV[4])
  redis.call('PEXPIRE', bucket, math.ceil(window / 1000))
  taken = taken + 1
end
local wait = 0
if taken >= limit then
  wait = tonumber(redis.call('ZRANGE', bucket, 0, 0, 'WITHSCORES')[2]) + window - now
end
return {allowed and 1 or 0, taken, wait}
"""


class RedisRateLimitStore:
    """Sliding logs in Redis, shared by every process that uses the same server.

    Exact across processes: each decision is one Lua script, which Redis runs alone.
    `namespace` keeps apart the buckets of stores that share one Redis (key ids are
    only unique within a store).
    """

    PREFIX = "tempclock:rate:"
    TIMEOUT_S = 2.0

    def __init__(self, url: str, namespace: str = "") -> None:
        import redis

        self.prefix = f"{self.PREFIX}{namespace}:" if namespace else self.PREFIX
        # One connection (the gate asks from the event loop's thread only): no pool to go
        # through on every request.
        self.client = redis.Redis.from_url(url, socket_timeout=self.TIMEOUT_S,
                                           socket_connect_timeout=self.TIMEOUT_S,
                                           single_connection_client=True)
        self._no_script = redis.exceptions.NoScriptError
        self._sha = hashlib.sha1(_SLIDING_LOG.encode()).hexdigest()  # noqa: S324 - Redis's name
        # Each slot is a member of the sorted set, so each needs a name of its own.
        self._tag = os.urandom(6).hex()
        self._slots = itertools.count()

    def check(self) -> None:
        """Raise (redis.ConnectionError...) unless the server answers."""
        self.client.ping()

    def acquire(self, bucket: str, limit: int, window: int) -> RateDecision:
        return self._decide(bucket, limit, window, take=True)

    def peek(self, bucket: str, limit: int, window: int) -> RateDecision:
        return self._decide(bucket, limit, window, take=False)

    def _decide(self, bucket: str, limit: int, window: int, *, take: bool) -> RateDecision:
        args = (self.prefix + bucket, limit, window * 1_000_000, int(take),
                f"{self._tag}:{next(self._slots)}")
        try:
            allowed, taken, wait_us = self.client.evalsha(self._sha, 1, *args)
        except self._no_script:  # a restarted Redis has forgotten it; EVAL caches it again
            allowed, taken, wait_us = self.client.eval(_SLIDING_LOG, 1, *args)
        remaining = max(0, limit - int(taken))
        reset = 0 if remaining else max(1, math.ceil(int(wait_us) / 1_000_000))
        return RateDecision(bool(allowed), limit, remaining, reset, window)


class RateLimiter:
    """The limits of the API: per key, and for failed authentication per client address and
    per presented key prefix.

    Failures never stand in a valid key's way: the gate asks `failures_blocked` only
    about a request whose key was refused, so one broken client cannot lock out the
    other integrations on its PC, while guessing (from one address, or at one key's
    prefix from many) is refused with 429 once it has failed too often.

    Failed attempts that are not blocked are also counted from all addresses together:
    past `auth_failures_logged_per_window` of them in a window (a flood from many
    addresses, each with keys of its own), they are still answered 401, but logged as
    one aggregated row per minute rather than one each (`failure_flood`), so no
    number of addresses can fill the log or the disk.
    """

    def __init__(
        self,
        store: RateLimitStore | None = None,
        *,
        window: int = WINDOW_SECONDS,
        auth_failures_per_window: int = 30,
        auth_failures_logged_per_window: int = 600,
    ) -> None:
        self.store = store or MemoryRateLimitStore()
        self.window = window
        self.auth_failures_per_window = auth_failures_per_window
        self.auth_failures_logged_per_window = auth_failures_logged_per_window

    def take_for_key(self, key_id: int, limit: int) -> RateDecision:
        """Count a request presenting a known key (admitted or refused) against its limit."""
        return self.store.acquire(f"key:{key_id}", limit, self.window)

    def _failure_buckets(self, address: str, prefix: str | None) -> list[str]:
        buckets = [f"addr:{address}"]
        if prefix:
            buckets.append(f"prefix:{prefix}")
        return buckets

    def failures_blocked(self, address: str, prefix: str | None) -> RateDecision | None:
        """The refusal for a failed attempt from an address, or at a key prefix, that has
        failed too often (the one blocked longest), else None."""
        refusals = [decision for bucket in self._failure_buckets(address, prefix)
                    if not (decision := self.store.peek(bucket, self.auth_failures_per_window,
                                                        self.window)).allowed]
        return max(refusals, key=lambda d: d.reset, default=None)

    def failure_flood(self) -> bool:
        """Count a failed attempt that was not blocked (from anywhere); whether more than
        `auth_failures_logged_per_window` have now failed in the window."""
        return not self.store.acquire("failures:all", self.auth_failures_logged_per_window,
                                      self.window).allowed

    def count_auth_failure(self, address: str, prefix: str | None) -> None:
        """Count a failed authentication against the client address and the key prefix."""
        for bucket in self._failure_buckets(address, prefix):
            self.store.acquire(bucket, self.auth_failures_per_window, self.window)
