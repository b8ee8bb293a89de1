"""Key verification remembered exactly: `keys.verify_key` without a lookup on every request.

A verified key is reused only while the database is provably unchanged and the
key has not reached its expiry. "Unchanged" is SQLite's `PRAGMA data_version`,
which moves whenever any other connection commits: another thread of this
process, the desktop app, or `tempclock keys revoke` in another process. So a
revocation, an expiry or an account losing API access is refused from the very
next request, exactly as without the memory. A refused key is never remembered,
and on PostgreSQL (no such counter) every request is checked in full.

One rule: the connection that reads the counter must not write, since its own
commits do not move it. The API gate calls this from the event-loop thread,
which never writes.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import NamedTuple

from api.services import keys
from api.services.common import utcnow
from api.store import database, is_postgres

MAX_REMEMBERED = 10_000


class _Verified(NamedTuple):
    stamp: tuple[int, int]
    identity: keys.KeyIdentity
    expires_at: dt.datetime | None  # naive UTC, as stored


def _data_version() -> tuple[int, int] | None:
    """Which database, and SQLite's count of changes committed to it by other connections."""
    if is_postgres():
        return None
    return id(database.obj), database.execute_sql("PRAGMA data_version").fetchone()[0]


class VerifiedKeys:
    """`verify(presented)` answers as `keys.verify_key` does, reusing past verifications."""

    def __init__(self) -> None:
        self._known: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def verify(self, presented: str) -> keys.KeyIdentity:
        """The identity of a usable key, or the DomainError `keys.verify_key` raises."""
        stamp = _data_version()  # read first: a commit after this moves it for the next request
        digest = keys.hash_key(presented)
        if stamp is not None:
            known = self._known.get(digest)
            if (known is not None and known.stamp == stamp
                    and (known.expires_at is None or utcnow() < known.expires_at)):
                return known.identity
        identity = keys.verify_key(presented)
        if stamp is not None:
            with self._lock:
                if len(self._known) >= MAX_REMEMBERED:
                    self._known.clear()
                self._known[digest] = _Verified(stamp, identity, identity.expires_at)
        return identity
