"""Reading the API logs for the admin: filtered browsing, requests per minute, traffic per
key, and bursts of refused requests (401/403) that may mean a leaked or guessed key.

Requests whose key matched no account (unknown, revoked or expired keys, or an
account with API access off) are recorded without an account; they are shown
to every account's admin as "unattributed", since they may be aimed at any.
Everything here reads `ApiLog` through indexes that keep a page cheap at a
million rows: lists are newest first by (`created_at`, `id`), paged with a
keyset cursor, one index range per account scope, merged.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools

import msgspec
from peewee import SQL, fn

from tempclock.api.services.api_logs import ApiLog, record_of
from tempclock.api.services.common import utcnow
from tempclock.api.services.errors import Invalid
from tempclock.api.store import is_postgres
from tempclock.api.store.models import ApiLog as ApiLogRow

MAX_PAGE = 1000
AUTH_FAILURES = (401, 403)
# A row may stand for several requests (aggregated refusals): every count sums `count`.
REQUESTS = fn.SUM(ApiLogRow.count)
_ERRORS = fn.SUM(SQL('CASE WHEN status >= 400 THEN "count" ELSE 0 END'))
_REFUSED = fn.SUM(SQL('CASE WHEN status IN (401, 403) THEN "count" ELSE 0 END'))


class LogFilter(msgspec.Struct, kw_only=True):
    """Which requests to show. Unset fields do not filter."""

    key_id: int | None = None  # only this key's requests
    unattributed: bool | None = None  # True: only requests without an account; False: never
    status_class: int | None = None  # 2, 3, 4 or 5 (2xx ... 5xx)
    auth_failures: bool = False  # only 401 and 403
    path: str | None = None  # text the path contains
    since: dt.datetime | None = None
    until: dt.datetime | None = None


# What a list of requests may be sorted by: the name the desktop asks for → the column.
# Numbers and times only: they order alike in SQLite, PostgreSQL and Python (which merges
# the account's rows with the unattributed ones), where text collations differ.
ORDERS = {
    "time": ApiLogRow.created_at,
    "status": ApiLogRow.status,
    "duration": ApiLogRow.duration_ms,
    "count": ApiLogRow.count,
}


class LogOrder(msgspec.Struct, frozen=True, kw_only=True):
    """How requests are listed: by one of `ORDERS`, then by id, in one direction.

    Newest first is the cheap order (an index range per scope); any other sorts the
    filtered rows in the store, so it costs a scan of them, not of the page.
    """

    by: str = "time"
    descending: bool = True


NEWEST_FIRST = LogOrder()
Cursor = tuple[object, int]  # (sort value, id) of the last row seen: (created_at, id) by time


def cursor_of(log: ApiLog, order: LogOrder = NEWEST_FIRST) -> Cursor:
    """Where a list in `order` continues after `log` (pass it as `browse_logs(before=...)`)."""
    return getattr(log, ORDERS[order.by].name), log.id


def naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A time as stored (naive UTC); naive values are taken as stored already."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _scopes(account_id: int, filters: LogFilter) -> list[int | None]:
    if filters.key_id is not None:
        return [account_id]  # a key always belongs to an account
    if filters.unattributed is True:
        return [None]
    if filters.unattributed is False:
        return [account_id]
    return [account_id, None]


def _filtered(scope: int | None, filters: LogFilter):
    query = ApiLogRow.select().where(
        ApiLogRow.account.is_null() if scope is None else ApiLogRow.account == scope)
    if filters.key_id is not None:
        query = query.where(ApiLogRow.key == filters.key_id)
    if filters.auth_failures:
        query = query.where(ApiLogRow.status.in_(AUTH_FAILURES))
    elif filters.status_class is not None:
        if filters.status_class not in (1, 2, 3, 4, 5):
            raise Invalid("status class must be 1 to 5 (1xx to 5xx)", field="status_class")
        low = filters.status_class * 100
        query = query.where((ApiLogRow.status >= low) & (ApiLogRow.status <= low + 99))
    if filters.path:
        query = query.where(ApiLogRow.path.contains(filters.path.strip()))
    if filters.since is not None:
        query = query.where(ApiLogRow.created_at >= naive_utc(filters.since))
    if filters.until is not None:
        query = query.where(ApiLogRow.created_at < naive_utc(filters.until))
    return query


def browse_logs(account_id: int, filters: LogFilter | None = None, *,
                before: Cursor | None = None, newer_than_id: int | None = None,
                limit: int = 100, order: LogOrder = NEWEST_FIRST) -> list[ApiLog]:
    """The account's requests (and unattributed ones) matching `filters`, newest first
    (or in `order`).

    Page on with `before` = `cursor_of(last row shown, order)`; fetch rows added since
    with `newer_than_id` = the highest id already shown (a live view).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise Invalid(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    if order.by not in ORDERS:
        raise Invalid(f"cannot sort by {order.by!r}", field="order")
    filters = filters or LogFilter()
    column = ORDERS[order.by]
    streams = []
    for scope in _scopes(account_id, filters):
        query = _filtered(scope, filters)
        if before is not None:
            query = query.where(_past(column, before, order.descending))
        if newer_than_id is not None:
            query = query.where(ApiLogRow.id > newer_than_id)
        sort = (column.desc(), ApiLogRow.id.desc()) if order.descending else (column, ApiLogRow.id)
        rows = query.order_by(*sort).limit(limit)
        streams.append([record_of(row) for row in rows])
    merged = heapq.merge(*streams, key=lambda r: cursor_of(r, order), reverse=order.descending)
    return list(itertools.islice(merged, limit))


def _past(column, cursor: Cursor, descending: bool):
    """Rows after `cursor` in the list's order: the sort value beyond it, or equal with the id."""
    value, ident = cursor
    if isinstance(value, dt.datetime):
        value = naive_utc(value)
    if descending:
        return (column < value) | ((column == value) & (ApiLogRow.id < ident))
    return (column > value) | ((column == value) & (ApiLogRow.id > ident))


# --- aggregates ---------------------------------------------------------------------


class MinuteCount(msgspec.Struct, kw_only=True):
    """Requests in one minute, and how many of them failed (status 400 or more)."""

    minute: dt.datetime
    requests: int
    errors: int


class KeyTraffic(msgspec.Struct, kw_only=True):
    """One key's requests in a period (key_id None: unattributed requests)."""

    key_id: int | None
    key_name: str | None
    key_prefix: str | None
    requests: int
    errors: int
    auth_failures: int


class Burst(msgspec.Struct, kw_only=True):
    """Many 401/403 answers in a short window from one key (or one address, for unknown keys)."""

    key_id: int | None
    key_name: str | None
    key_prefix: str | None
    client: str | None  # set for unattributed requests, grouped by address
    failures: int
    first_at: dt.datetime
    last_at: dt.datetime

    @property
    def unknown_key(self) -> bool:
        return self.key_id is None


def _minute_of(column):
    if is_postgres():
        return fn.date_trunc("minute", column)
    return fn.strftime("%Y-%m-%d %H:%M:00", column)


def as_utc(value: object) -> dt.datetime:
    """A stored time as an aware UTC datetime (aggregates may come back as text)."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def requests_per_minute(account_id: int, since: dt.datetime, until: dt.datetime | None = None,
                        *, include_unattributed: bool = True) -> list[MinuteCount]:
    """Requests and errors per minute from `since` (minutes without requests are left out)."""
    minute = _minute_of(ApiLogRow.created_at)
    scope = ApiLogRow.account == account_id
    if include_unattributed:
        scope = scope | ApiLogRow.account.is_null()
    query = (ApiLogRow
             .select(minute.alias("minute"), REQUESTS, _ERRORS)
             .where(scope & (ApiLogRow.created_at >= naive_utc(since))))
    if until is not None:
        query = query.where(ApiLogRow.created_at < naive_utc(until))
    rows = query.group_by(minute).order_by(minute).tuples()
    return [MinuteCount(minute=as_utc(m), requests=int(n), errors=int(e or 0))
            for m, n, e in rows]


def traffic_by_key(account_id: int, since: dt.datetime) -> list[KeyTraffic]:
    """Requests, errors and 401/403s per key since `since`, busiest first; unattributed last."""
    found = []
    for scope in (account_id, None):
        where = ApiLogRow.account.is_null() if scope is None else ApiLogRow.account == scope
        rows = (ApiLogRow
                .select(ApiLogRow.key, fn.MAX(ApiLogRow.key_name), fn.MAX(ApiLogRow.key_prefix),
                        REQUESTS, _ERRORS, _REFUSED)
                .where(where & (ApiLogRow.created_at >= naive_utc(since)))
                .group_by(ApiLogRow.key)
                .tuples())
        found.extend(KeyTraffic(key_id=k, key_name=name, key_prefix=prefix, requests=int(n),
                                errors=int(e or 0), auth_failures=int(a or 0))
                     for k, name, prefix, n, e, a in rows)
    return sorted(found, key=lambda t: (t.key_id is None, -t.requests))


def auth_failure_bursts(account_id: int, *, window: dt.timedelta = dt.timedelta(minutes=5),
                        threshold: int = 10, now: dt.datetime | None = None) -> list[Burst]:
    """Keys of the account, and addresses presenting unattributed keys, that were refused
    (401/403) at least `threshold` times in the last `window`, worst first."""
    start = naive_utc(now) if now is not None else utcnow()
    start = start - window
    bursts: list[Burst] = []
    for scope in (account_id, None):
        group = ApiLogRow.client if scope is None else ApiLogRow.key
        where = ApiLogRow.account.is_null() if scope is None else ApiLogRow.account == scope
        rows = (ApiLogRow
                .select(group, fn.MAX(ApiLogRow.key_name), fn.MAX(ApiLogRow.key_prefix),
                        REQUESTS, fn.MIN(ApiLogRow.created_at),
                        fn.MAX(ApiLogRow.created_at))
                .where(where & (ApiLogRow.created_at >= start)
                       & ApiLogRow.status.in_(AUTH_FAILURES))
                .group_by(group)
                .having(threshold <= REQUESTS)
                .tuples())
        for ident, name, prefix, count, first, last in rows:
            bursts.append(Burst(
                key_id=None if scope is None else ident,
                key_name=name, key_prefix=prefix,
                client=ident if scope is None else None,
                failures=int(count), first_at=as_utc(first), last_at=as_utc(last)))
    return sorted(bursts, key=lambda b: -b.failures)


def newest_log_id() -> int:
    """The highest log id recorded so far (0 when none): where a live view starts."""
    return ApiLogRow.select(fn.MAX(ApiLogRow.id)).scalar() or 0
