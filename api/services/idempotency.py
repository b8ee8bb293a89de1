"""Idempotency keys: a retried create returns the first response and creates nothing.

A client sends `Idempotency-Key: <any string>` with a POST. The first request
with that key reserves it (per account), runs, and its response is kept for 24
hours; a retry with the same key and the same request gets that response back;
the same key with a different request is refused. A retry that arrives while
the first is still running is told so (409) rather than run twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import NamedTuple

from peewee import IntegrityError

from tempclock.api.services.common import transaction, utcnow
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.store.models import IdempotencyRecord

KEEP_FOR = dt.timedelta(hours=24)
MAX_KEY_LENGTH = 255
_IN_PROGRESS = 0  # status_code of a reservation whose request has not finished


class StoredResponse(NamedTuple):
    """The first response to a request, as it is replayed."""

    status_code: int
    body: bytes


def fingerprint(operation: str, body: bytes) -> str:
    """What makes two requests "the same": the operation and the body it carried."""
    digest = hashlib.sha256(operation.encode())
    digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def _check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                      field="Idempotency-Key", code="invalid_idempotency_key")
    return key


def begin(account_id: int, key: str, *, method: str, path: str,
          request_hash: str) -> StoredResponse | None:
    """Reserve `key` for this request, or return the response kept for it.

    Raises `idempotency_key_reused` (400) when the key was used for a different
    request, `idempotency_key_in_progress` (409) while the first is still running.
    """
    _check_key(key)
    try:
        with transaction():
            (IdempotencyRecord.delete()
             .where((IdempotencyRecord.account == account_id) & (IdempotencyRecord.key == key)
                    & (IdempotencyRecord.created_at < utcnow() - KEEP_FOR))
             .execute())
            row = IdempotencyRecord.get_or_none((IdempotencyRecord.account == account_id)
                                                & (IdempotencyRecord.key == key))
            if row is None:
                IdempotencyRecord.create(account=account_id, key=key, method=method, path=path,
                                         request_hash=request_hash, status_code=_IN_PROGRESS,
                                         response_body="")
                return None
    except IntegrityError:  # another request reserved it a moment ago
        row = IdempotencyRecord.get((IdempotencyRecord.account == account_id)
                                    & (IdempotencyRecord.key == key))
    if row.request_hash != request_hash:
        raise Invalid("This Idempotency-Key was already used with a different request",
                      field="Idempotency-Key", code="idempotency_key_reused")
    if row.status_code == _IN_PROGRESS:
        raise Conflict("A request with this Idempotency-Key is still being processed; "
                       "retry shortly", code="idempotency_key_in_progress")
    return StoredResponse(row.status_code, row.response_body.encode())


def complete(account_id: int, key: str, status_code: int, body: bytes) -> None:
    """Keep the response of the request that reserved `key`."""
    (IdempotencyRecord.update(status_code=status_code, response_body=body.decode())
     .where((IdempotencyRecord.account == account_id) & (IdempotencyRecord.key == key))
     .execute())


def release(account_id: int, key: str) -> None:
    """Forget a reservation whose request failed unexpectedly, so a retry runs again."""
    (IdempotencyRecord.delete()
     .where((IdempotencyRecord.account == account_id) & (IdempotencyRecord.key == key)
            & (IdempotencyRecord.status_code == _IN_PROGRESS))
     .execute())


def purge_expired(now: dt.datetime | None = None) -> int:
    """Delete records older than 24 hours; returns how many."""
    cutoff = (now or utcnow()) - KEEP_FOR
    return IdempotencyRecord.delete().where(IdempotencyRecord.created_at < cutoff).execute()
