"""API keys: issued by the admin, shown once, stored only as a SHA-256 hash.

Format: `tc_live_` + 40 lowercase hex characters; the last 8 are the CRC32 of
everything before them, so a mistyped key is refused before any lookup and
secret scanners can recognise real keys.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
import zlib
from collections.abc import Iterable

import msgspec

from tempclock.api.services.common import (
    after_commit,
    clean_text,
    emit,
    fetch,
    transaction,
    utc,
    utcnow,
)
from tempclock.api.services.errors import DomainError, Forbidden, Invalid, NotFound, Unauthenticated
from tempclock.api.store import database, signals
from tempclock.api.store.models import Account as AccountRow
from tempclock.api.store.models import ApiKey as ApiKeyRow
from tempclock.api.store.models import AuthState
from tempclock.api.store.prepared import Prepared, Slot

KEY_PREFIX = "tc_live_"
_KEY_FORMAT = re.compile(r"tc_live_[0-9a-f]{40}")
DISPLAY_HEX = 8  # hex characters of the random part shown in listings
DEFAULT_RATE_LIMIT = 60
MAX_RATE_LIMIT = 1_000_000

SCOPES: tuple[str, ...] = (
    "workers:read",
    "workers:write",
    "timesheets:read",
    "timesheets:write",
    "clock:write",
    "locations:read",
    "locations:write",
    "shifts:read",
    "shifts:write",
    "departments:read",
    "cost_codes:read",
    "webhooks:read",
    "webhooks:write",
    "events:read",
)


class ApiKey(msgspec.Struct, kw_only=True):
    """An issued key as listings show it: never the key itself."""

    id: int
    account_id: int
    name: str
    prefix: str
    scopes: list[str]
    status: str  # Active | Revoked | Expired
    rate_limit: int
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @property
    def display_prefix(self) -> str:
        return f"{self.prefix}..."


class IssuedKey(msgspec.Struct, kw_only=True):
    """The result of issuing: the plaintext exists only here, once."""

    key: ApiKey
    plaintext: str


class KeyIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """Who a verified key speaks for, as the request pipeline needs it."""

    key_id: int
    account_id: int
    name: str
    prefix: str
    scopes: frozenset[str]
    rate_limit: int
    expires_at: dt.datetime | None = None  # naive UTC, as stored

    def allows(self, scope: str) -> bool:
        return not self.scopes or scope in self.scopes


# --- the key format ----------------------------------------------------------


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode('ascii')):08x}"


def generate_key() -> str:
    """A new random key in the TempClock format (not stored anywhere)."""
    body = KEY_PREFIX + secrets.token_hex(16)
    return body + _checksum(body)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def check_key_format(key: str) -> None:
    """Refuse a key that cannot be one of ours, before anything is looked up."""
    if not _KEY_FORMAT.fullmatch(key):
        raise Unauthenticated("Malformed API key", code="key_malformed")
    if not hmac.compare_digest(_checksum(key[:-8]), key[-8:]):
        raise Unauthenticated("Invalid API key (checksum does not match)",
                              code="key_checksum_invalid")


# --- records -----------------------------------------------------------------


def _status(row: ApiKeyRow, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "Revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "Expired"
    return "Active"


def _scopes(text: str) -> list[str]:
    return text.split()


def _record(row: ApiKeyRow, now: dt.datetime | None = None) -> ApiKey:
    return ApiKey(
        id=row.id,
        account_id=row.account_id,
        name=row.name,
        prefix=row.prefix,
        scopes=_scopes(row.scopes),
        status=_status(row, now or utcnow()),
        rate_limit=row.rate_limit,
        created_at=utc(row.created_at),
        last_used_at=utc(_usage.latest(row.id, row.last_used_at)),
        expires_at=utc(row.expires_at),
        revoked_at=utc(row.revoked_at),
    )


def _audit(record: ApiKey) -> dict[str, object]:
    """What the outbox keeps of a key change: never the hash, never the key."""
    return {"id": record.id, "name": record.name, "prefix": record.prefix, "status": record.status}


# --- admin operations ----------------------------------------------------------


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    cleaned: list[str] = []
    for scope in scopes:
        scope = scope.strip()
        if scope not in SCOPES:
            raise Invalid(f"Unknown scope {scope!r}; known scopes: {', '.join(SCOPES)}",
                          field="scopes")
        if scope not in cleaned:
            cleaned.append(scope)
    return cleaned


def _expiry(expires_on: dt.date | None, expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_on is not None:
        # A key "expiring on" a date is usable through that whole (UTC) day; the calendar's
        # last day (an admin's "never") has no day after it.
        expires_at = (dt.datetime.combine(expires_on + dt.timedelta(days=1), dt.time(),
                                          tzinfo=dt.UTC)
                      if expires_on < dt.date.max else dt.datetime.max.replace(tzinfo=dt.UTC))
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=dt.UTC)
    stored = expires_at.astimezone(dt.UTC).replace(tzinfo=None)
    if stored <= utcnow():
        raise Invalid("The expiry must be in the future", field="expires")
    return stored


def issue_key(
    account_id: int,
    name: str,
    *,
    scopes: Iterable[str] = (),
    expires_on: dt.date | None = None,
    expires_at: dt.datetime | None = None,
    rate_limit: int = DEFAULT_RATE_LIMIT,
) -> IssuedKey:
    """Issue a named key for an account. The returned plaintext is never retrievable again.

    No scopes means full access. `expires_on` keeps the key usable through that date (UTC).
    """
    name = clean_text(name, "name", max_length=100, required=True)
    scope_list = _clean_scopes(scopes)
    if not isinstance(rate_limit, int) or not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise Invalid(f"rate limit must be between 1 and {MAX_RATE_LIMIT} requests per minute",
                      field="rate_limit")
    expiry = _expiry(expires_on, expires_at)
    plaintext = generate_key()
    with transaction():
        if AccountRow.get_or_none(AccountRow.id == account_id) is None:
            raise NotFound.of("Account", account_id)
        row = ApiKeyRow.create(
            account=account_id,
            name=name,
            prefix=plaintext[: len(KEY_PREFIX) + DISPLAY_HEX],
            key_hash=hash_key(plaintext),
            scopes=" ".join(scope_list),
            rate_limit=rate_limit,
            expires_at=expiry,
        )
        record = _record(row)
        emit(account_id, "api_key_issued", _audit(record))
    return IssuedKey(key=record, plaintext=plaintext)


def list_keys(account_id: int | None = None) -> list[ApiKey]:
    """Keys of one account (or all), newest first, with their status."""
    query = ApiKeyRow.select().order_by(ApiKeyRow.id.desc())
    if account_id is not None:
        query = query.where(ApiKeyRow.account == account_id)
    now = utcnow()
    return [_record(row, now) for row in query]


def get_key(key_id: int, account_id: int | None = None) -> ApiKey:
    """One key's listing record; limited to `account_id` when given."""
    return _record(_get(key_id, account_id))


def _get(key_id: int, account_id: int | None) -> ApiKeyRow:
    if account_id is not None:
        return fetch(ApiKeyRow, account_id, key_id, "API key")
    row = ApiKeyRow.get_or_none(ApiKeyRow.id == key_id)
    if row is None:
        raise NotFound.of("API key", key_id)
    return row


_bump = Prepared(
    lambda p: AuthState.update(generation=AuthState.generation + 1).where(AuthState.id == 1)
)
_generation = Prepared(lambda p: AuthState.select(AuthState.generation).where(AuthState.id == 1))


def key_generation() -> int:
    """A number that moves whenever a key stops being usable before its expiry.

    Call `changed_key_validity` in the transaction of any such change; a verified key
    may be trusted without another lookup for as long as this number stands still.
    """
    return _generation.scalar() or 0


def changed_key_validity() -> None:
    """Move `key_generation` (in the caller's transaction), and signal it once committed.

    The signal (`tempclock.api.store.signals`) lets a server on SQLite trust its remembered
    generation with a memory read instead of a query per request; the generation itself
    stays the truth.
    """
    _bump.rowcount()
    db = database.obj
    after_commit(lambda: signals.announce(db, KEY_SIGNAL))


KEY_SIGNAL = "keys"


def revoke_key(key_id: int, account_id: int | None = None) -> ApiKey:
    """Revoke a key; the very next request presenting it is refused. Revoking twice is harmless."""
    with transaction():
        row = _get(key_id, account_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.save(only=[ApiKeyRow.revoked_at])
            changed_key_validity()
            record = _record(row)
            emit(row.account_id, "api_key_revoked", _audit(record))
        else:
            record = _record(row)
    return record


def add_scope(key_id: int, scope: str, account_id: int | None = None) -> ApiKey:
    """Let a key use `scope` too (an integration refused with `scope_missing`); audited with
    `api_key_updated`. A full-access key (no scopes) already has it and is left alone."""
    (scope,) = _clean_scopes([scope])
    with transaction():
        row = _get(key_id, account_id)
        current = _scopes(row.scopes)
        if not current or scope in current:
            return _record(row)
        row.scopes = " ".join([*current, scope])
        row.save(only=[ApiKeyRow.scopes])
        changed_key_validity()  # a remembered identity carries the old scopes
        record = _record(row)
        emit(row.account_id, "api_key_updated", {**_audit(record), "scopes": record.scopes,
                                                 "added_scope": scope})
    return record


# --- the request path ----------------------------------------------------------


# Runs on every API request: compiled once (building the SQL costs more than running it).
_key_by_hash = Prepared(
    lambda p: ApiKeyRow.select(ApiKeyRow, AccountRow.api_enabled)
    .join(AccountRow)
    .where(ApiKeyRow.key_hash == p.digest)
)


def verify_key(presented: str, scope: str | None = None) -> KeyIdentity:
    """Check a presented key and return whom it speaks for.

    Raises, each with its own code: `key_malformed` / `key_checksum_invalid` (no
    lookup made), `key_unknown`, `key_revoked`, `key_expired` (all Unauthenticated);
    `api_disabled` and `scope_missing` (Forbidden).
    """
    check_key_format(presented)
    digest = hash_key(presented)
    row = _key_by_hash.one(digest=digest)
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthenticated("Invalid API key", code="key_unknown")
    identity = KeyIdentity(
        key_id=row.id,
        account_id=row.account_id,
        name=row.name,
        prefix=row.prefix,
        scopes=frozenset(_scopes(row.scopes)),
        rate_limit=row.rate_limit,
        expires_at=row.expires_at,
    )
    refusal: DomainError | None = None
    if row.revoked_at is not None:
        refusal = Unauthenticated("This API key has been revoked", code="key_revoked")
    elif row.expires_at is not None and row.expires_at <= utcnow():
        refusal = Unauthenticated("This API key has expired", code="key_expired")
    elif not row.api_enabled:
        refusal = Forbidden("API access is not enabled for this account", code="api_disabled")
    if refusal is not None:
        # Whose key it was, for the request log (never sent to the client).
        refusal.identity = identity
        raise refusal
    if scope is not None:
        require_scope(identity, scope)
    return identity


def require_scope(identity: KeyIdentity, scope: str) -> None:
    """Refuse with `scope_missing`, naming the scope, unless the key carries it (or all)."""
    if not identity.allows(scope):
        refusal = Forbidden(f"This API key lacks the required scope: {scope}",
                            code="scope_missing", scope=scope)
        refusal.identity = identity
        raise refusal


class _KeyUsage:
    """`last_used_at` kept in memory per request and written in one batch now and then.

    Kept as seconds since the epoch: `time.time()` costs a fraction of building a
    datetime, and this runs on every request. Noting takes no lock (storing one dict
    item is atomic under the GIL); a flush copies what was noted and writes only the
    keys whose time moved since the last successful flush, so a failed flush loses
    nothing and is simply done again.
    """

    def __init__(self) -> None:
        self._flushing = threading.Lock()
        self._noted: dict[int, float] = {}
        self._written: dict[int, float] = {}
        self._written_to: object = None

    def note(self, key_id: int, when: float) -> None:
        self._noted[key_id] = when

    def latest(self, key_id: int, stored: dt.datetime | None) -> dt.datetime | None:
        noted = self._noted.get(key_id)
        if noted is None:
            return stored
        when = _naive_utc(noted)
        return stored if stored is not None and stored >= when else when

    def flush(self) -> int:
        with self._flushing:
            if self._written_to is not database.obj:
                if self._written_to is not None:
                    # Another store since (a restore, a test): what was noted may be of
                    # the old one's keys.
                    self._noted = {}
                self._written, self._written_to = {}, database.obj
            noted = self._noted.copy()
            changed = {k: v for k, v in noted.items() if self._written.get(k) != v}
            if not changed:
                return 0
            with transaction():
                for key_id, seconds in changed.items():
                    _touch_key.execute(key_id=key_id, when=_naive_utc(seconds))
            self._written.update(changed)
            return len(changed)


# The log writer runs this after every batch: built once, not per flush.
_touch_key = Prepared(
    lambda p: ApiKeyRow.update(last_used_at=Slot("when", ApiKeyRow.last_used_at))
    .where((ApiKeyRow.id == p.key_id)
           & (ApiKeyRow.last_used_at.is_null() | (ApiKeyRow.last_used_at < p.when)))
)


def _naive_utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None)


_usage = _KeyUsage()


def note_key_used(key_id: int, when: dt.datetime | None = None) -> None:
    """Remember that a key was used (`when`: naive UTC, default now); written by `flush_key_usage`."""
    _usage.note(key_id, time.time() if when is None else when.replace(tzinfo=dt.UTC).timestamp())


def flush_key_usage() -> int:
    """Write the remembered `last_used_at` times; returns how many keys were updated."""
    return _usage.flush()
