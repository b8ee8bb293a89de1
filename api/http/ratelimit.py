"""Rate limits: a rolling window per bucket (a key, or a client address), exact under concurrency.

The storage is an interface so several server processes can share one (Redis,
later); the in-memory store serves the single-process host. Its one operation
is atomic: "take a slot in bucket B with limit L over window W" answers whether
it was allowed, how many remain, and how long until the next slot frees.
"""

from __future__ import annotations

import math
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
        limit, remaining, reset = str(self.limit), str(self.remaining), str(self.reset)
        return [
            (b"x-ratelimit-limit", limit.encode()),
            (b"x-ratelimit-remaining", remaining.encode()),
            (b"x-ratelimit-reset", reset.encode()),
            (b"ratelimit-policy", f'"per-key";q={limit};w={self.window}'.encode()),
            (b"ratelimit", f'"per-key";r={remaining};t={reset}'.encode()),
        ]


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


class RateLimiter:
    """The two limits of the API: per key, and per client address for failed authentication."""

    def __init__(
        self,
        store: RateLimitStore | None = None,
        *,
        window: int = WINDOW_SECONDS,
        auth_failures_per_window: int = 30,
    ) -> None:
        self.store = store or MemoryRateLimitStore()
        self.window = window
        self.auth_failures_per_window = auth_failures_per_window

    def take_for_key(self, key_id: int, limit: int) -> RateDecision:
        """Count a request that passed authentication against its key's limit."""
        return self.store.acquire(f"key:{key_id}", limit, self.window)

    def address_blocked(self, address: str) -> RateDecision | None:
        """The refusal for an address that failed authentication too often, else None."""
        decision = self.store.peek(f"addr:{address}", self.auth_failures_per_window, self.window)
        return None if decision.allowed else decision

    def count_auth_failure(self, address: str) -> RateDecision:
        """Count a failed authentication against the client address."""
        return self.store.acquire(f"addr:{address}", self.auth_failures_per_window, self.window)
