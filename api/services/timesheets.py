"""Timesheets: reading time entries, their totals, and who is on site now.

An entry belongs to the local date, in its location's zone, on which it was
clocked in, so an overnight shift is counted once and never lost between days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
from peewee import JOIN, fn

from tempclock.api.services.common import (
    ListParams,
    Page,
    check_choice,
    emit,
    fetch,
    fetch_one,
    paginate,
    transaction,
    utc,
    utcnow,
)
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.store.models import Break as BreakRow
from tempclock.api.store.models import CostCode as CostCodeRow
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import EntryEdit as EntryEditRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import TimeEntry as TimeEntryRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.prepared import Prepared, fetch_rows

STATUSES = ("open", "completed", "approved", "disputed")
ENTRY_FILTERS = ("shifts", "active", "breaks", "all")


class BreakPeriod(msgspec.Struct):
    start: dt.datetime
    end: dt.datetime | None


class TimeEntry(msgspec.Struct, kw_only=True):
    id: int
    worker_id: int
    worker_name: str
    employee_ref: str | None
    location_id: int
    location_name: str
    department_id: int | None
    department: str | None
    cost_code_id: int | None
    cost_code: str | None
    shift_id: int | None
    clock_in: dt.datetime
    clock_out: dt.datetime | None
    work_date: dt.date  # (ext) the local date of clock_in at the location: the entry's day
    breaks: list[BreakPeriod]
    break_minutes: int
    total_hours: float | None
    status: str
    source: str
    latitude: float | None
    longitude: float | None
    gps_accuracy: float | None
    within_geofence: bool | None
    distance_meters: float | None
    low_gps_confidence: bool
    notes: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who wrote to a time entry: an API key (its id and name) or the desktop app."""

    type: str  # api_key | desktop
    name: str
    key_id: int | None = None


DESKTOP = Actor(type="desktop", name="desktop")


def key_actor(key_id: int, name: str) -> Actor:
    """The actor for a write made with API key `key_id` called `name`."""
    return Actor(type="api_key", name=name, key_id=key_id)


class EntryChange(msgspec.Struct, kw_only=True):
    """One audited write to an entry: who, when, what it was before and after, and why.

    `action` is `created` (a manual entry: `before` holds nulls) or `corrected`;
    `before` and `after` hold only the fields that changed.
    """

    id: int
    entry_id: int
    action: str
    actor: Actor
    reason: str
    before: dict[str, Any]
    after: dict[str, Any]
    created_at: dt.datetime


class TimeEntryDetail(TimeEntry, kw_only=True):
    """One time entry with its audit trail, oldest write first (`GET /timesheets?id=`)."""

    edits: list[EntryChange]


class TimesheetUpdate(TimeEntry, kw_only=True):
    """The `timesheet_updated` event: the entry now, and the audited write (None for an
    import or an approval)."""

    edit: EntryChange | None


class TimeEntryFilter(ListParams, kw_only=True):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    worker_id: int | None = None
    location_id: int | None = None
    department_id: int | None = None
    cost_code_id: int | None = None
    status: str | None = None
    entry_filter: str = "shifts"  # shifts = completed entries | active | breaks | all


def entry_query(account_id: int):
    """Entries of the account joined with the names a record shows."""
    return (
        TimeEntryRow.select(
            TimeEntryRow,
            WorkerRow.first_name,
            WorkerRow.last_name,
            WorkerRow.employee_ref,
            LocationRow.name.alias("location_name"),
            DepartmentRow.name.alias("department_name"),
            CostCodeRow.code.alias("cost_code_code"),
        )
        .join_from(TimeEntryRow, WorkerRow)
        .join_from(TimeEntryRow, LocationRow)
        .join_from(TimeEntryRow, DepartmentRow, JOIN.LEFT_OUTER)
        .join_from(TimeEntryRow, CostCodeRow, JOIN.LEFT_OUTER)
        .where(TimeEntryRow.account == account_id)
        .objects()
    )


def _hours(seconds: int | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def entry_record(row: Any, breaks: list[BreakPeriod]) -> TimeEntry:
    """The record of an entry row as `entry_query` reads it (or an object with its names)."""
    return TimeEntry(
        id=row.id,
        worker_id=row.worker_id,
        worker_name=f"{row.first_name} {row.last_name}",
        employee_ref=row.employee_ref,
        location_id=row.location_id,
        location_name=row.location_name,
        department_id=row.department_id,
        department=row.department_name,
        cost_code_id=row.cost_code_id,
        cost_code=row.cost_code_code,
        shift_id=row.shift_id,
        clock_in=utc(row.clock_in),
        clock_out=utc(row.clock_out),
        work_date=row.work_date,
        breaks=breaks,
        break_minutes=round(row.break_seconds / 60),
        total_hours=_hours(row.worked_seconds),
        status=row.status,
        source=row.source,
        latitude=row.latitude,
        longitude=row.longitude,
        gps_accuracy=row.gps_accuracy,
        within_geofence=row.within_geofence,
        distance_meters=row.distance_meters,
        low_gps_confidence=row.low_gps_confidence,
        notes=row.notes,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


_breaks_between = Prepared(
    lambda p: BreakRow.select(BreakRow.entry, BreakRow.start, BreakRow.end)
    .where((BreakRow.account == p.account) & (BreakRow.entry >= p.low)
           & (BreakRow.entry <= p.high))
    .order_by(BreakRow.entry, BreakRow.start)
)


def _breaks_of(account_id: int, entry_ids: Iterable[int]) -> dict[int, list[BreakPeriod]]:
    found: dict[int, list[BreakPeriod]] = defaultdict(list)
    ids = set(entry_ids)
    if ids:
        # One range read (an id list would cost a parameter per entry); others are skipped.
        for row in _breaks_between.rows(account=account_id, low=min(ids), high=max(ids)):
            if row.entry_id in ids:
                found[row.entry_id].append(BreakPeriod(start=utc(row.start), end=utc(row.end)))
    return found


def records(rows: list[TimeEntryRow]) -> list[TimeEntry]:
    """Records for entry rows from `entry_query`, with their breaks in one extra query."""
    if not rows:
        return []
    breaks = _breaks_of(rows[0].account_id, (row.id for row in rows))
    return [entry_record(row, breaks.get(row.id, [])) for row in rows]


_one = Prepared(lambda p: entry_query(p.account).where(TimeEntryRow.id == p.id))
_breaks_of_one = Prepared(
    lambda p: BreakRow.select(BreakRow.start, BreakRow.end)
    .where(BreakRow.entry == p.entry)
    .order_by(BreakRow.start)
)


def get_entry(account_id: int, entry_id: int,
              breaks: list[BreakPeriod] | None = None) -> TimeEntry:
    """One time entry of the account, or NotFound; `breaks` when the caller has them in hand."""
    row = fetch_one(_one, "Time entry", entry_id, account=account_id)
    if breaks is None:
        breaks = [BreakPeriod(start=utc(b.start), end=utc(b.end))
                  for b in _breaks_of_one.rows(entry=entry_id)]
    return entry_record(row, breaks)


def change_record(row: EntryEditRow) -> EntryChange:
    """An `entry_edit` row as the audit record the API shows."""
    changes = msgspec.json.decode(row.changes)
    return EntryChange(
        id=row.id, entry_id=row.entry_id, action=row.action,
        actor=Actor(type=row.actor_type, name=row.actor_name, key_id=row.actor_key_id),
        reason=row.reason,
        before={name: pair[0] for name, pair in changes.items()},
        after={name: pair[1] for name, pair in changes.items()},
        created_at=utc(row.created_at))


def entry_history(account_id: int, entry_id: int) -> list[EntryChange]:
    """An entry's audited writes (manual creation, corrections), oldest first."""
    fetch(TimeEntryRow, account_id, entry_id, "Time entry")
    rows = (EntryEditRow.select()
            .where((EntryEditRow.account == account_id) & (EntryEditRow.entry == entry_id))
            .order_by(EntryEditRow.id))
    return [change_record(row) for row in rows]


def get_entry_detail(account_id: int, entry_id: int) -> TimeEntryDetail:
    """One time entry of the account with its audit trail (`edits`), or NotFound."""
    entry = get_entry(account_id, entry_id)
    return TimeEntryDetail(**msgspec.structs.asdict(entry),
                           edits=entry_history(account_id, entry_id))


def _filtered(account_id: int, params: TimeEntryFilter):
    check_choice(params.entry_filter, "entry_filter", ENTRY_FILTERS)
    if params.date_from and params.date_to and params.date_to < params.date_from:
        raise Invalid("date_to must not be before date_from", field="date_to")
    query = entry_query(account_id)
    if params.date_from is not None:
        query = query.where(TimeEntryRow.work_date >= params.date_from)
    if params.date_to is not None:
        query = query.where(TimeEntryRow.work_date <= params.date_to)
    for column, value in (
        (TimeEntryRow.worker, params.worker_id),
        (TimeEntryRow.location, params.location_id),
        (TimeEntryRow.department, params.department_id),
        (TimeEntryRow.cost_code, params.cost_code_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if params.status is not None:
        query = query.where(TimeEntryRow.status == check_choice(params.status, "status",
                                                                STATUSES))
    if params.entry_filter == "shifts":
        query = query.where(TimeEntryRow.clock_out.is_null(False))
    elif params.entry_filter == "active":
        query = query.where(TimeEntryRow.clock_out.is_null())
    elif params.entry_filter == "breaks":
        has_break = BreakRow.select(BreakRow.id).where(BreakRow.entry == TimeEntryRow.id)
        query = query.where(fn.EXISTS(has_break))
    return query


def list_entries(account_id: int, params: TimeEntryFilter | None = None) -> Page[TimeEntry]:
    """Time entries matching the filters; by default only completed ones (`entry_filter=shifts`)."""
    params = params or TimeEntryFilter()
    page = paginate(_filtered(account_id, params), TimeEntryRow, params, lambda row: row)
    page.data = records(page.data)
    return page


def iter_entries(account_id: int, params: TimeEntryFilter | None = None,
                 batch: int = 1000) -> Iterator[TimeEntry]:
    """Every entry matching the filters in id order, fetched in batches (exports use this).

    Paging fields of `params` are ignored.
    """
    query = _filtered(account_id, params or TimeEntryFilter())
    after = 0
    while True:
        rows = fetch_rows(query.where(TimeEntryRow.id > after).order_by(TimeEntryRow.id)
                          .limit(batch))
        if not rows:
            return
        yield from records(rows)
        after = rows[-1].id


class WorkerTotal(msgspec.Struct, kw_only=True):
    worker_id: int
    worker_name: str
    entries: int
    total_hours: float
    break_minutes: int


class TimesheetTotals(msgspec.Struct, kw_only=True):
    entries: int
    total_hours: float
    break_minutes: int
    workers: list[WorkerTotal]


def timesheet_totals(account_id: int, params: TimeEntryFilter | None = None) -> TimesheetTotals:
    """Hours (breaks excluded) of the closed entries matching the filters, in all and per worker.

    Paging and sync fields of `params` are ignored: totals cover every matching entry.
    """
    base = _filtered(account_id, params or TimeEntryFilter())
    rows = (
        base.select(
            TimeEntryRow.worker,
            WorkerRow.first_name,
            WorkerRow.last_name,
            fn.COUNT(TimeEntryRow.id),
            fn.COALESCE(fn.SUM(TimeEntryRow.worked_seconds), 0),
            fn.COALESCE(fn.SUM(TimeEntryRow.break_seconds), 0),
        )
        .group_by(TimeEntryRow.worker, WorkerRow.first_name, WorkerRow.last_name)
        .order_by(WorkerRow.last_name, WorkerRow.first_name)
        .tuples()
    )
    workers = [
        WorkerTotal(
            worker_id=worker_id,
            worker_name=f"{first} {last}",
            entries=count,
            total_hours=_hours(int(worked)) or 0.0,
            break_minutes=round(int(breaks) / 60),
        )
        for worker_id, first, last, count, worked, breaks in rows
    ]
    return TimesheetTotals(
        entries=sum(w.entries for w in workers),
        total_hours=round(sum(w.total_hours for w in workers), 2),
        break_minutes=sum(w.break_minutes for w in workers),
        workers=workers,
    )


def set_entry_status(account_id: int, entry_id: int, status: str) -> TimeEntry:
    """Approve or dispute a closed entry (or return it to `completed`). Fires `timesheet_updated`.

    Approving locks the entry (and the worker's day) against corrections: see
    `tempclock.api.services.periods`.
    """
    check_choice(status, "status", ("completed", "approved", "disputed"))
    with transaction():
        row = fetch(TimeEntryRow, account_id, entry_id, "Time entry")
        if row.clock_out is None:
            raise Conflict(f"Time entry {entry_id} is still open; clock the worker out first",
                           code="entry_open")
        row.status = status
        row.updated_at = utcnow()
        row.save()
        record = get_entry(account_id, entry_id)
        emit(account_id, "timesheet_updated",
             TimesheetUpdate(**msgspec.structs.asdict(record), edit=None))
    return record


# --- on site now ---------------------------------------------------------------


class OnSiteWorker(msgspec.Struct, kw_only=True):
    worker_id: int
    name: str
    clock_in: dt.datetime
    distance_meters: float | None
    within_geofence: bool | None


class Site(msgspec.Struct, kw_only=True):
    location_id: int
    name: str
    capacity: int | None
    on_site: int
    workers: list[OnSiteWorker]


class OnSiteNow(msgspec.Struct, kw_only=True):
    as_of: dt.datetime
    sites: list[Site]


def on_site_now(account_id: int, location_id: int | None = None) -> OnSiteNow:
    """Who is clocked in right now, by site: every active site, busiest listed with its workers."""
    as_of = utcnow()
    sites_query = LocationRow.select().where(LocationRow.account == account_id)
    if location_id is not None:
        sites_query = sites_query.where(LocationRow.id == location_id)
    open_entries = (
        TimeEntryRow.select(TimeEntryRow, WorkerRow.first_name, WorkerRow.last_name)
        .join(WorkerRow)
        .where((TimeEntryRow.account == account_id) & TimeEntryRow.clock_out.is_null())
        .order_by(TimeEntryRow.clock_in)
        .objects()
    )
    by_site: dict[int, list[OnSiteWorker]] = defaultdict(list)
    for row in open_entries:
        by_site[row.location_id].append(
            OnSiteWorker(
                worker_id=row.worker_id,
                name=f"{row.first_name} {row.last_name}",
                clock_in=utc(row.clock_in),
                distance_meters=row.distance_meters,
                within_geofence=row.within_geofence,
            )
        )
    sites = [
        Site(
            location_id=loc.id,
            name=loc.name,
            capacity=loc.capacity,
            on_site=len(by_site.get(loc.id, [])),
            workers=by_site.get(loc.id, []),
        )
        for loc in sites_query.order_by(LocationRow.id)
        if loc.active or by_site.get(loc.id)
    ]
    return OnSiteNow(as_of=utc(as_of), sites=sites)
