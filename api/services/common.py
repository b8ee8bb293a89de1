"""Pieces every service shares: time, text checks, list paging, transactions, the outbox."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import msgspec
import peewee
from peewee import IntegrityError, Model, ModelSelect

from tempclock.api.services.errors import Invalid, NotFound
from tempclock.api.store import database, is_postgres
from tempclock.api.store.models import Event, utcnow
from tempclock.api.store.prepared import Prepared, Slot, fetch_rows, run_sql, save

log = logging.getLogger(__name__)

__all__ = [
    "MAX_LIMIT",
    "ListParams",
    "Page",
    "Pagination",
    "as_naive_utc",
    "local_moments",
    "clean_text",
    "emit",
    "fetch",
    "paginate",
    "transaction",
    "utc",
    "utcnow",
    "zone",
]

T = TypeVar("T")
M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 100


# --- time -------------------------------------------------------------------

_combine = dt.datetime.combine


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored naive UTC datetime as an aware one, for records and the wire."""
    # What `value.replace(tzinfo=dt.UTC)` makes, for an eighth of its cost (replace parses
    # keywords): every record read runs this, ~15k instructions a worker (bench/api_instructions.py).
    return None if value is None else _combine(value, value.time(), dt.UTC)


def as_naive_utc(value: dt.datetime, tz: zoneinfo.ZoneInfo | None = None, *,
                 field: str | None = None) -> dt.datetime:
    """An aware datetime, or a naive one read as local time in `tz`, as stored UTC.

    A local time the clocks skip (spring forward) or show twice (fall back) is
    refused as `Invalid` (on `field`): which moment it means cannot be known, and a
    guess would pay an hour too many or too few. Its offset says which it is.
    """
    if value.tzinfo is None:
        value = _on_the_clock(value, tz, field) if tz else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def local_moments(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> list[dt.datetime]:
    """The moments (aware, UTC, earliest first) a naive local time names in `tz`: none
    in the hour the clocks skip, two in the hour they show twice, else one."""
    moments = {value.replace(tzinfo=tz, fold=fold).astimezone(dt.UTC) for fold in (0, 1)}
    return sorted(m for m in moments if m.astimezone(tz).replace(tzinfo=None) == value)


def _on_the_clock(value: dt.datetime, tz: zoneinfo.ZoneInfo, field: str | None) -> dt.datetime:
    """The one moment a naive local time means in `tz`, or `Invalid` when it means none or two."""
    moments = local_moments(value, tz)
    if not moments:
        raise Invalid(f"{value:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks "
                      "went forward over it; give the time with its UTC offset",
                      field=field, code="nonexistent_local_time")
    if len(moments) > 1:
        first, second = (_offset(m.astimezone(tz)) for m in moments)
        raise Invalid(f"{value:%Y-%m-%d %H:%M} happens twice in {tz.key}: the clocks went "
                      f"back over it; give the time with its UTC offset ({first} for the "
                      f"first, {second} for the second)",
                      field=field, code="ambiguous_local_time")
    return moments[0]


def _offset(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="minutes")[-6:]


# Names the system's zone folder carries that are not IANA zones.
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    """The IANA time zone names a location may have."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


@functools.lru_cache(maxsize=512)
def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA zone called `name`, or an `Invalid` error naming the field."""
    if name not in zone_names():
        raise Invalid(f"timezone {name!r} is not an IANA time zone name such as Europe/London",
                      field="timezone")
    return zoneinfo.ZoneInfo(name)


def local_date(stored: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.date:
    """The local calendar date, in `tz`, of a stored naive UTC datetime."""
    return stored.replace(tzinfo=dt.UTC).astimezone(tz).date()


# --- text -------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BEYOND_ASCII = re.compile(r"[^\x00-\x7f]")
# Beyond ASCII: C1 controls, lone surrogates, line/paragraph separators and the invisible
# format characters (bidi overrides and isolates, zero-width space, BOM) can reorder or hide
# text on the admin's screen and in payroll files; the zero-width (non-)joiners stay, as
# scripts and emoji need them.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Cf", "Zl", "Zp"})
_JOINERS = frozenset("\u200c\u200d")


def _hidden_characters(value: str) -> list[str]:
    """The characters of `value` beyond ASCII that would garble how it reads, as U+XXXX."""
    found = dict.fromkeys(match.group() for match in _BEYOND_ASCII.finditer(value))
    return [f"U+{ord(c):04X}" for c in found
            if c not in _JOINERS and unicodedata.category(c) in _UNSAFE_CATEGORIES]


def clean_text(
    value: str | None,
    field: str,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """Trim `value` and check it; blank optional text becomes None."""
    if value is None:
        if required:
            raise Invalid(f"Missing required field: {field}", field=field, code="missing_field")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", field=field)
    value = value.strip()
    if not value:
        if required:
            raise Invalid(f"Missing required field: {field}", field=field, code="missing_field")
        return None
    if len(value) > max_length:
        raise Invalid(f"{field} must be at most {max_length} characters", field=field)
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        raise Invalid(f"{field} contains control characters", field=field)
    hidden = _hidden_characters(value) if not value.isascii() else None
    if hidden:
        raise Invalid(f"{field} contains control characters ({', '.join(hidden[:5])}) that "
                      "would hide or reorder text", field=field)
    return value


def check_range(value: float | None, field: str, low: float, high: float) -> None:
    if value is not None and not (low <= value <= high):
        raise Invalid(f"{field} must be between {low:g} and {high:g}", field=field)


def check_choice(value: str, field: str, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise Invalid(f"{field} must be one of: {', '.join(choices)}", field=field)
    return value


# --- lists ------------------------------------------------------------------


class ListParams(msgspec.Struct, kw_only=True):
    """Paging and sync filters every list takes (`id`, `updated_since`, `after_id`...)."""

    id: int | None = None
    updated_since: dt.datetime | None = None
    after_id: int | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


class Pagination(msgspec.Struct, kw_only=True):
    total: int
    limit: int
    offset: int
    has_more: bool


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list, in ascending id order, with the total that matched."""

    data: list[T]
    pagination: Pagination


def paginate(
    query: ModelSelect,
    model: type[Model],
    params: ListParams,
    to_record: Callable[[Any], T],
) -> Page[T]:
    """Apply the shared filters and paging to `query` and shape the rows."""
    if not 1 <= params.limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if params.offset < 0:
        raise Invalid("offset must be 0 or more", field="offset")
    if params.id is not None:
        query = query.where(model.id == params.id)
    if params.after_id is not None:
        if params.after_id < 0:
            raise Invalid("after_id must be 0 or more", field="after_id")
        query = query.where(model.id > params.after_id)
    if params.updated_since is not None:
        query = query.where(model.updated_at >= as_naive_utc(params.updated_since))
    total = query.count()
    rows = fetch_rows(query.order_by(model.id).limit(params.limit).offset(params.offset))
    data = [to_record(row) for row in rows]
    return Page(
        data=data,
        pagination=Pagination(
            total=total,
            limit=params.limit,
            offset=params.offset,
            has_more=params.offset + len(data) < total,
        ),
    )


_fetchers: dict[type[Model], Prepared] = {}


def _fetcher(model: type[Model]) -> Prepared:
    prepared = _fetchers.get(model)
    if prepared is None:
        prepared = _fetchers[model] = Prepared(
            lambda p: model.select().where((model.id == p.id) & (model.account == p.account))
        )
    return prepared


def fetch(model: type[M], account_id: int, ident: int, what: str | None = None) -> M:
    """The row `ident` of `model` in this account, or `NotFound` (also for other accounts' ids)."""
    row = _fetcher(model).one(id=ident, account=account_id)
    if row is None:
        raise NotFound.of(what or model.__name__, ident)
    instance = model(__no_default__=1, **row._asdict())
    instance._dirty.clear()  # loaded, not changed: a save writes only what is set later
    return instance


_id_checks: dict[type[Model], Prepared] = {}


def fetch_id(model: type[Model], account_id: int, ident: int, what: str | None = None,
             known: set[tuple[type, int]] | None = None) -> int:
    """`ident` if it is a row of `model` in this account, else `NotFound` (a cheap `fetch`).

    `known` (optional) remembers ids already checked, so bulk work checks each once.
    """
    if known is not None and (model, ident) in known:
        return ident
    prepared = _id_checks.get(model)
    if prepared is None:
        prepared = _id_checks[model] = Prepared(
            lambda p: model.select(model.id).where((model.id == p.id)
                                                   & (model.account == p.account))
        )
    if prepared.scalar(id=ident, account=account_id) is None:
        raise NotFound.of(what or model.__name__, ident)
    if known is not None:
        known.add((model, ident))
    return ident


def fetch_one(prepared: Prepared, what: str, ident: int, **params: Any) -> Any:
    """The row a prepared lookup finds for `ident`, or `NotFound` naming `what`."""
    row = prepared.one(id=ident, **params)
    if row is None:
        raise NotFound.of(what, ident)
    return row


# --- writes -----------------------------------------------------------------


def reads_are_local() -> bool:
    """Whether reads go to a file in this process (SQLite) rather than across a socket."""
    return not is_postgres()


class _Savepoint(peewee._savepoint):
    """Peewee's savepoint, its statements sent as `Prepared` sends its queries (`run_sql`:
    straight to an open SQLite connection). Every write request runs in one inside the
    group commit, a kiosk punch in two: peewee's path was ~8% of a punch's instructions."""

    def __init__(self, db: Any) -> None:
        super().__init__(db, "tempclock_savepoint")

    def _begin(self) -> None:
        run_sql(self.db, f"SAVEPOINT {self.quoted_sid};")

    def commit(self, begin: bool = True) -> None:
        run_sql(self.db, f"RELEASE SAVEPOINT {self.quoted_sid};")
        if begin:
            self._begin()

    def rollback(self, begin: bool = True) -> None:
        run_sql(self.db, f"ROLLBACK TO SAVEPOINT {self.quoted_sid};")
        if begin:
            self._begin()


class _Atomic(peewee._atomic):
    """`database.atomic()` whose savepoints all have one name.

    Peewee names each savepoint after a fresh uuid4 (a getrandom call, and a new
    statement for SQLite to compile, twice per nested block). One name is enough:
    SQLite and PostgreSQL release or roll back the most recent savepoint of a name,
    which is the innermost open block, as `with` blocks nest.
    """

    def __enter__(self) -> Any:
        if self.db.transaction_depth() == 0 or isinstance(self.db.top_transaction(),
                                                          peewee._manual):
            return super().__enter__()
        self._helper = _Savepoint(self.db)
        return self._helper.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        if not isinstance(self._helper, peewee._transaction):  # a savepoint
            return super().__exit__(exc_type, exc, tb)
        try:
            result = super().__exit__(exc_type, exc, tb)
        finally:
            callbacks, _after_commit.callbacks = getattr(_after_commit, "callbacks", []), []
        if exc_type is None:  # committed (a failed commit raised above)
            for callback in callbacks:
                _run_after_commit(callback)
        return result


_after_commit = threading.local()


def _run_after_commit(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:  # the data is committed; a callback only tells others about it
        log.exception("after-commit callback %r failed", callback)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` when this thread's open transaction commits; at once if none is open.

    It never runs if the transaction rolls back; an error in it is logged, not raised
    (the data is committed by then).
    """
    if database.transaction_depth() == 0:
        _run_after_commit(callback)
        return
    pending = getattr(_after_commit, "callbacks", None)
    if pending is None:
        pending = _after_commit.callbacks = []
    pending.append(callback)


def transaction() -> Any:
    """A write transaction (BEGIN IMMEDIATE on SQLite), nested ones become savepoints."""
    # The store itself, not its proxy: every call through the proxy first fails a normal
    # attribute lookup (an AttributeError built and dropped), a dozen per transaction.
    return _Atomic(database.obj if database.obj is not None else database)


def lock_for_update(model: type[Model], ident: int) -> None:
    """Serialise writers on one row.

    Today every writer is serialised anyway (SQLite's BEGIN IMMEDIATE, PostgreSQL's
    writers' lock in `tempclock.api.store`); this row lock keeps the per-worker rules safe on
    PostgreSQL should writers ever run side by side.
    """
    if is_postgres():
        model.select(model.id).where(model.id == ident).for_update().execute()


def emit(account_id: int, event_type: str, record: msgspec.Struct | dict[str, Any]) -> int:
    """Append an event to the outbox, in the transaction of the change it reports; returns its id.

    Outbox ids follow commit order: writers are serialised (SQLite's BEGIN IMMEDIATE,
    and on PostgreSQL the lock every transaction takes first, see `tempclock.api.store`).
    """
    return _insert_event.insert(
        account=account_id,
        type=event_type,
        data=msgspec.json.encode(record).decode(),
        created_at=utcnow(),
    )


_insert_event = Prepared(
    lambda p: Event.insert(
        {
            Event.account: Slot("account", Event.account),
            Event.type: Slot("type", Event.type),
            Event.data: Slot("data", Event.data),
            Event.created_at: Slot("created_at", Event.created_at),
        }
    )
)


# --- create and update inputs -------------------------------------------------


def set_fields(data: msgspec.Struct) -> dict[str, Any]:
    """The fields of an update struct the caller actually set (UNSET ones left out)."""
    return {
        name: value
        for name in data.__struct_fields__
        if (value := getattr(data, name)) is not msgspec.UNSET
    }


def save_row(
    row: M,
    *,
    event: str,
    to_record: Callable[[M], T],
    duplicate: Callable[[], Exception],
) -> T:
    """Write a created or changed row and its outbox event in one transaction.

    A unique-constraint violation becomes the domain error `duplicate()` builds.
    """
    try:
        with transaction():
            row.updated_at = utcnow()
            save(row)
            record = to_record(row)
            emit(row.account_id, event, record)
    except IntegrityError:
        raise duplicate() from None
    return record
