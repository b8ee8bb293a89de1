"""Waiting for a condition the way a loaded two-core CI box needs: generously, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Callable

WAIT_S = 30.0  # generous: a loaded two-core CI box under coverage


def wait_until(condition: Callable[[], object], timeout: float = WAIT_S, *,
               every: float = 0.05) -> bool:
    """Whether `condition()` holds within `timeout` s (asked every `every` s, and once more
    at the end)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())
