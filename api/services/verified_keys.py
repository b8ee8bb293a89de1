"""Key verification remembered exactly: `keys.verify_key` without a lookup on every request.

A verified key is reused only while `keys.key_generation()` stands still and the
key has not reached its expiry. The generation moves in the very transaction that
revokes a key or changes an account's API access, whichever process commits it
(the desktop app, `tempclock keys revoke`, another worker), so a revocation is
refused from the next request, exactly as without the memory. A known key that was
refused (revoked, expired, its account's API off) is remembered the same way, so a
client that keeps presenting it costs no lookup: revoked and expired keys never come
back, and switching the API on moves the generation. Unknown keys are never
remembered (nothing bounds how many there are). On PostgreSQL the generation is one primary-key lookup per
request; on SQLite it is read again only when the committer's signal beside the
store moved (`tempclock.api.store.signals`: a token in a memory-mapped file, read for a
twentieth of the lookup's cost) or a second has passed.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import NamedTuple

from tempclock.api.services import keys
from tempclock.api.services.common import utcnow
from tempclock.api.services.errors import DomainError
from tempclock.api.store import database
from tempclock.api.store.signals import Watched

MAX_REMEMBERED = 10_000


class _Verified(NamedTuple):
    stamp: tuple[int, int]
    identity: keys.KeyIdentity
    expires_at: dt.datetime | None  # naive UTC, as stored
    refusal: DomainError | None = None  # why a known key is refused


_generation = Watched(keys.KEY_SIGNAL, keys.key_generation)


def _stamp() -> tuple[int, int]:
    """Which database, and its key generation."""
    db = database.obj
    return id(db), _generation.get(db)


class VerifiedKeys:
    """`verify(presented)` answers as `keys.verify_key` does, reusing past verifications."""

    def __init__(self) -> None:
        self._known: dict[str, _Verified] = {}
        self._lock = threading.Lock()

    def verify(self, presented: str) -> keys.KeyIdentity:
        """The identity of a usable key, or the DomainError `keys.verify_key` raises."""
        stamp = _stamp()  # read first: a change committed after this moves it for the next request
        digest = keys.hash_key(presented)
        known = self._known.get(digest)
        if known is not None and known.stamp == stamp:
            if known.refusal is not None:
                raise copy.copy(known.refusal)  # a fresh one: tracebacks never pile up
            if known.expires_at is None or utcnow() < known.expires_at:
                return known.identity
        try:
            identity = keys.verify_key(presented)
        except DomainError as refusal:
            if refusal.identity is not None:
                self._remember(digest, _Verified(stamp, refusal.identity,  # type: ignore[arg-type]
                                                 None, refusal))
            raise
        self._remember(digest, _Verified(stamp, identity, identity.expires_at))
        return identity

    def _remember(self, digest: str, verified: _Verified) -> None:
        with self._lock:
            if len(self._known) >= MAX_REMEMBERED:
                self._known.clear()
            self._known[digest] = verified
