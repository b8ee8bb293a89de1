"""Clocking: in, out, and breaks, under the rules of the API contract.

- A worker has at most one open entry, whatever the concurrency: the check runs
  inside a serialised write transaction and a partial unique index backs it.
- A timestamp may not be in the future and may be backdated only as far as the
  location allows (`max_backdate_hours`, default 12). Times without an offset
  are local times at the location.
- Geofence, by the location's mode: `off`, `allow` (record), `warn` (record and
  raise `clock.geofence_breach`), `block` (refuse a confident fix outside the
  fence). A fix less accurate than the location's threshold is flagged, never refused.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, UnsetType
from peewee import IntegrityError

from api.services.common import (
    as_naive_utc,
    check_range,
    clean_text,
    emit,
    fetch,
    local_date,
    lock_for_update,
    set_fields,
    transaction,
    utc,
    utcnow,
    zone,
)
from api.services.errors import Conflict, Forbidden, Invalid, NotFound, require
from api.services.timesheets import BreakPeriod, TimeEntry, get_entry
from api.store.models import Break as BreakRow
from api.store.models import CostCode as CostCodeRow
from api.store.models import EntryEdit as EntryEditRow
from api.store.models import Location as LocationRow
from api.store.models import Shift as ShiftRow
from api.store.models import TimeEntry as TimeEntryRow
from api.store.models import Worker as WorkerRow
from api.store.prepared import Prepared, Slot

ACTIONS = ("in", "out", "break_start", "break_end")
SOURCES = ("api", "desktop", "kiosk", "import")
CLOCK_SKEW = dt.timedelta(minutes=1)  # a device clock this far ahead is read as "now"
EARTH_RADIUS_M = 6_371_008.8
SHIFT_EARLY = dt.timedelta(hours=1)  # a clock-in this early still belongs to the shift


class ClockRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /clock`."""

    worker_id: int | None = None
    action: str | None = None
    location_id: int | None = None
    timestamp: dt.datetime | None = None
    cost_code_id: int | None = None
    notes: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    gps_accuracy: float | None = None


class Position(NamedTuple):
    """Where a device says it is, and how sure it is."""

    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None


class Geofence(NamedTuple):
    distance_meters: float | None
    within: bool | None
    low_confidence: bool
    refused: bool
    breach: bool


# --- rules ------------------------------------------------------------------------


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _check_position(position: Position) -> None:
    if (position.latitude is None) != (position.longitude is None):
        raise Invalid("latitude and longitude must be sent together", field="latitude")
    check_range(position.latitude, "latitude", -90, 90)
    check_range(position.longitude, "longitude", -180, 180)
    check_range(position.accuracy, "gps_accuracy", 0, 1_000_000)


def geofence(location: Any, position: Position) -> Geofence:
    """How a reported position relates to the location's fence, by its mode."""
    _check_position(position)
    low = position.accuracy is not None and position.accuracy > location.gps_accuracy_threshold
    if position.latitude is None or location.latitude is None:
        return Geofence(None, None, low, False, False)
    distance = round(haversine_m(location.latitude, location.longitude,
                                 position.latitude, position.longitude), 1)
    if location.geofence_mode == "off":
        return Geofence(distance, None, low, False, False)
    within = distance <= location.geofence_radius_m
    refused = location.geofence_mode == "block" and not within and not low
    breach = not within and not refused and location.geofence_mode in ("warn", "block")
    return Geofence(distance, within, low, refused, breach)


def _moment(timestamp: dt.datetime | None, location: Any, now: dt.datetime) -> dt.datetime:
    """The stored UTC time of a clock action, checked against the future and backdating."""
    if timestamp is None:
        return now
    at = as_naive_utc(timestamp, zone(location.timezone))
    if at > now + CLOCK_SKEW:
        raise Invalid("timestamp cannot be in the future", field="timestamp")
    limit = dt.timedelta(hours=location.max_backdate_hours)
    if now - at > limit:
        raise Invalid(
            f"timestamp is more than {location.max_backdate_hours} hours in the past; "
            f"{location.name} allows backdating up to {location.max_backdate_hours} hours",
            field="timestamp",
        )
    return min(at, now)


# The hot path: every query a clock action runs is compiled once (see api/store/prepared.py).
_worker = Prepared(
    lambda p: WorkerRow.select(WorkerRow.id, WorkerRow.active, WorkerRow.location,
                               WorkerRow.department)
    .where((WorkerRow.id == p.id) & (WorkerRow.account == p.account))
)
_location = Prepared(
    lambda p: LocationRow.select(
        LocationRow.id, LocationRow.name, LocationRow.active, LocationRow.timezone,
        LocationRow.latitude, LocationRow.longitude, LocationRow.geofence_mode,
        LocationRow.geofence_radius_m, LocationRow.gps_accuracy_threshold,
        LocationRow.max_backdate_hours)
    .where((LocationRow.id == p.id) & (LocationRow.account == p.account))
)
# Entries of a worker never overlap and an open entry runs on for ever, so the latest
# entry by clock-in is the open one when there is one.
_latest_entry = Prepared(
    lambda p: TimeEntryRow.select(TimeEntryRow.id, TimeEntryRow.clock_in, TimeEntryRow.clock_out,
                                  TimeEntryRow.location, TimeEntryRow.notes)
    .where(TimeEntryRow.worker == p.worker)
    .order_by(TimeEntryRow.clock_in.desc())
    .limit(1)
)
_shift_at = Prepared(
    lambda p: ShiftRow.select(ShiftRow.id, ShiftRow.cost_code)
    .where((ShiftRow.worker == p.worker) & (ShiftRow.location == p.location)
           & (ShiftRow.status == "scheduled") & (ShiftRow.start <= p.early)
           & (ShiftRow.end > p.at))
    .order_by(ShiftRow.start)
    .limit(1)
)
_ENTRY_COLUMNS = (
    "account", "worker", "location", "department", "cost_code", "shift", "clock_in", "work_date",
    "status", "source", "latitude", "longitude", "gps_accuracy", "within_geofence",
    "distance_meters", "low_gps_confidence", "notes", "created_at", "updated_at",
)
_insert_entry = Prepared(
    lambda p: TimeEntryRow.insert(
        {getattr(TimeEntryRow, name): Slot(name, getattr(TimeEntryRow, name))
         for name in _ENTRY_COLUMNS})
)
_close_entry = Prepared(
    lambda p: TimeEntryRow.update({
        TimeEntryRow.clock_out: Slot("clock_out", TimeEntryRow.clock_out),
        TimeEntryRow.worked_seconds: Slot("worked_seconds", TimeEntryRow.worked_seconds),
        TimeEntryRow.break_seconds: Slot("break_seconds", TimeEntryRow.break_seconds),
        TimeEntryRow.status: "completed",
        TimeEntryRow.notes: Slot("notes", TimeEntryRow.notes),
        TimeEntryRow.updated_at: Slot("updated_at", TimeEntryRow.updated_at),
    }).where(TimeEntryRow.id == p.id)
)
_touch_entry = Prepared(
    lambda p: TimeEntryRow.update({
        TimeEntryRow.break_seconds: Slot("break_seconds", TimeEntryRow.break_seconds),
        TimeEntryRow.updated_at: Slot("updated_at", TimeEntryRow.updated_at),
    }).where(TimeEntryRow.id == p.id)
)
_breaks = Prepared(
    lambda p: BreakRow.select(BreakRow.id, BreakRow.start, BreakRow.end)
    .where(BreakRow.entry == p.entry)
    .order_by(BreakRow.start)
)
_insert_break = Prepared(
    lambda p: BreakRow.insert({BreakRow.account: Slot("account", BreakRow.account),
                               BreakRow.entry: Slot("entry", BreakRow.entry),
                               BreakRow.start: Slot("start", BreakRow.start)})
)
_end_break = Prepared(
    lambda p: BreakRow.update({BreakRow.end: Slot("end", BreakRow.end)})
    .where(BreakRow.id == p.id)
)


def _get_worker(account_id: int, worker_id: int) -> Any:
    row = _worker.one(id=worker_id, account=account_id)
    if row is None:
        raise NotFound.of("Worker", worker_id)
    return row


def _get_location(account_id: int, location_id: int) -> Any:
    row = _location.one(id=location_id, account=account_id)
    if row is None:
        raise NotFound.of("Location", location_id)
    return row


def _open_entry(account_id: int, worker_id: int) -> Any:
    """The worker's open entry and its location, or `not_clocked_in`."""
    _get_worker(account_id, worker_id)
    lock_for_update(WorkerRow, worker_id)
    entry = _latest_entry.one(worker=worker_id)
    if entry is None or entry.clock_out is not None:
        raise Conflict(f"Worker {worker_id} is not clocked in", code="not_clocked_in")
    return entry, _get_location(account_id, entry.location_id)


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise Invalid(f"source must be one of: {', '.join(SOURCES)}", field="source")


def _matching_shift(worker_id: int, location_id: int, at: dt.datetime) -> Any:
    """The scheduled shift a clock-in at `at` belongs to, if any."""
    return _shift_at.one(worker=worker_id, location=location_id, early=at + SHIFT_EARLY, at=at)


def _geo_event(entry_or_worker: dict[str, object], location: Any, geo: Geofence) -> dict:
    return {
        **entry_or_worker,
        "location_id": location.id,
        "distance_meters": geo.distance_meters,
        "geofence_radius_m": location.geofence_radius_m,
        "geofence_mode": location.geofence_mode,
    }


def _close_breaks(entry_id: int, at: dt.datetime) -> tuple[int, list[BreakPeriod]]:
    """End an open break at `at`; returns the entry's total break seconds and its breaks."""
    total = 0
    periods = []
    for row in _breaks.rows(entry=entry_id):
        end = row.end
        if end is None:
            end = max(at, row.start)
            _end_break.rowcount(id=row.id, end=end)
        total += int((end - row.start).total_seconds())
        periods.append(BreakPeriod(start=utc(row.start), end=utc(end)))
    return total, periods


# --- actions ------------------------------------------------------------------------


def clock_in(
    account_id: int,
    worker_id: int,
    *,
    location_id: int | None = None,
    timestamp: dt.datetime | None = None,
    cost_code_id: int | None = None,
    notes: str | None = None,
    position: Position = Position(),
    source: str = "api",
) -> TimeEntry:
    """Open a time entry for a worker. Fires `clock_in` (and geofence / GPS events).

    The location defaults to the worker's assigned one. Checks the worker, then the
    site and the time, then decides the geofence; a refusal by the fence is itself an
    event, kept even though the clock-in is refused.
    """
    _check_source(source)
    notes = clean_text(notes, "notes", max_length=2000, multiline=True)
    try:
        with transaction():
            worker = _worker_free_to_clock_in(account_id, worker_id)
            location = _site_to_clock_in_at(account_id, worker, location_id)
            if cost_code_id is not None:
                fetch(CostCodeRow, account_id, cost_code_id, "Cost code")
            now = utcnow()
            at = _moment(timestamp, location, now)
            geo = geofence(location, position)
            _refuse_a_second_entry(worker.id, at)
            if geo.refused:
                refusal = _refuse_outside_fence(account_id, worker.id, location, geo, at)
            else:
                return _start_entry(account_id, worker, location, geo, _NewEntry(
                    at=at, now=now, cost_code_id=cost_code_id, notes=notes,
                    position=position, source=source))
    except IntegrityError:
        # Only reachable when a concurrent writer slipped past the check: the index held.
        raise Conflict(f"Worker {worker_id} is already clocked in",
                       code="already_clocked_in") from None
    raise refusal  # after the commit that kept the refusal's event


class _NewEntry(NamedTuple):
    """What a clock-in brings besides the worker, the site and the fence."""

    at: dt.datetime
    now: dt.datetime
    cost_code_id: int | None
    notes: str | None
    position: Position
    source: str


def _worker_free_to_clock_in(account_id: int, worker_id: int) -> Any:
    """The worker, if in the account and active."""
    worker = _get_worker(account_id, worker_id)
    if not worker.active:
        raise Conflict(f"Worker {worker.id} is inactive and cannot clock in",
                       code="worker_inactive")
    return worker


def _site_to_clock_in_at(account_id: int, worker: Any, location_id: int | None) -> Any:
    """The site asked for, else the worker's assigned one; it must be open."""
    if location_id is None and worker.location_id is None:
        raise Invalid("Missing required field: location_id (the worker has no "
                      "assigned location)", field="location_id", code="missing_field")
    location = _get_location(account_id, location_id or worker.location_id)
    if not location.active:
        raise Conflict(f"Location {location.id} is inactive", code="location_inactive")
    return location


def _refuse_a_second_entry(worker_id: int, at: dt.datetime) -> None:
    """Refuse a clock-in while the worker is clocked in, or at or before their latest entry."""
    lock_for_update(WorkerRow, worker_id)
    latest = _latest_entry.one(worker=worker_id)
    if latest is None:
        return
    if latest.clock_out is None:
        raise Conflict(f"Worker {worker_id} is already clocked in",
                       code="already_clocked_in", entry_id=latest.id)
    if latest.clock_out > at or latest.clock_in >= at:
        raise Conflict(f"Worker {worker_id} has time entry {latest.id} at or after "
                       "this time", code="entry_overlap", entry_id=latest.id)


def _refuse_outside_fence(account_id: int, worker_id: int, location: Any, geo: Geofence,
                          at: dt.datetime) -> Forbidden:
    """The refusal of a confident fix outside a blocking fence, and its event."""
    emit(account_id, "clock.geofence_refused",
         _geo_event({"worker_id": worker_id, "timestamp": at.isoformat() + "Z"}, location, geo))
    return Forbidden(
        f"Clock-in refused: {geo.distance_meters:.0f} m from {location.name}, "
        f"outside its {location.geofence_radius_m} m geofence",
        code="geofence_refused",
        distance_meters=geo.distance_meters,
    )


def _start_entry(account_id: int, worker: Any, location: Any, geo: Geofence,
                 new: _NewEntry) -> TimeEntry:
    """Insert the open entry (its shift and cost code found) and emit its events."""
    shift = _matching_shift(worker.id, location.id, new.at)
    cost_code_id = new.cost_code_id
    if cost_code_id is None and shift is not None:
        cost_code_id = shift.cost_code_id
    entry_id = _insert_entry.insert(
        account=account_id,
        worker=worker.id,
        location=location.id,
        department=worker.department_id,
        cost_code=cost_code_id,
        shift=None if shift is None else shift.id,
        clock_in=new.at,
        work_date=local_date(new.at, zone(location.timezone)),
        status="open",
        source=new.source,
        latitude=new.position.latitude,
        longitude=new.position.longitude,
        gps_accuracy=new.position.accuracy,
        within_geofence=geo.within,
        distance_meters=geo.distance_meters,
        low_gps_confidence=geo.low_confidence,
        notes=new.notes,
        created_at=new.now,
        updated_at=new.now,
    )
    record = get_entry(account_id, entry_id, breaks=[])  # a new entry has none
    emit(account_id, "clock_in", record)
    if geo.breach:
        emit(account_id, "clock.geofence_breach",
             _geo_event({"entry_id": entry_id, "worker_id": worker.id}, location, geo))
    if geo.low_confidence:
        emit(account_id, "clock.low_gps_confidence",
             {"entry_id": entry_id, "worker_id": worker.id,
              "gps_accuracy": new.position.accuracy,
              "threshold": location.gps_accuracy_threshold})
    return record


def clock_out(
    account_id: int,
    worker_id: int,
    *,
    timestamp: dt.datetime | None = None,
    notes: str | None = None,
    position: Position = Position(),
) -> TimeEntry:
    """Close the worker's open entry (ending any open break). Fires `clock_out`.

    A position outside a `warn` or `block` fence raises `clock.geofence_breach` but
    never keeps a worker clocked in.
    """
    notes = clean_text(notes, "notes", max_length=2000, multiline=True)
    with transaction():
        entry, location = _open_entry(account_id, worker_id)
        now = utcnow()
        at = _moment(timestamp, location, now)
        if at < entry.clock_in:
            raise Invalid("Clock-out cannot be before the clock-in at "
                          f"{entry.clock_in.isoformat()}Z", field="timestamp")
        geo = geofence(location, position)
        break_seconds, periods = _close_breaks(entry.id, at)
        if notes:
            notes = f"{entry.notes}\n{notes}" if entry.notes else notes
        _close_entry.rowcount(
            id=entry.id,
            clock_out=at,
            worked_seconds=max(0, int((at - entry.clock_in).total_seconds()) - break_seconds),
            break_seconds=break_seconds,
            notes=notes or entry.notes,
            updated_at=now,
        )
        record = get_entry(account_id, entry.id, breaks=periods)
        emit(account_id, "clock_out", record)
        if geo.within is False:
            emit(account_id, "clock.geofence_breach",
                 _geo_event({"entry_id": entry.id, "worker_id": worker_id}, location, geo))
    return record


def start_break(account_id: int, worker_id: int, *,
                timestamp: dt.datetime | None = None) -> TimeEntry:
    """Start a break in the worker's open entry. Fires `break_start`."""
    with transaction():
        entry, location = _open_entry(account_id, worker_id)
        now = utcnow()
        at = _moment(timestamp, location, now)
        if at < entry.clock_in:
            raise Invalid("A break cannot start before the clock-in", field="timestamp")
        breaks = _breaks.rows(entry=entry.id)
        if breaks and breaks[-1].end is None:
            raise Conflict(f"Worker {worker_id} is already on a break", code="already_on_break",
                           entry_id=entry.id)
        if breaks and at < breaks[-1].end:
            raise Invalid("A break cannot start before the previous one ended", field="timestamp")
        _insert_break.insert(account=account_id, entry=entry.id, start=at)
        _touch_entry.rowcount(id=entry.id, break_seconds=sum(
            int((b.end - b.start).total_seconds()) for b in breaks), updated_at=now)
        record = get_entry(account_id, entry.id)
        emit(account_id, "break_start", record)
    return record


def end_break(account_id: int, worker_id: int, *,
              timestamp: dt.datetime | None = None) -> TimeEntry:
    """End the worker's current break. Fires `break_end`."""
    with transaction():
        entry, location = _open_entry(account_id, worker_id)
        breaks = _breaks.rows(entry=entry.id)
        if not breaks or breaks[-1].end is not None:
            raise Conflict(f"Worker {worker_id} is not on a break", code="not_on_break",
                           entry_id=entry.id)
        now = utcnow()
        at = _moment(timestamp, location, now)
        if at < breaks[-1].start:
            raise Invalid("A break cannot end before it started", field="timestamp")
        break_seconds, periods = _close_breaks(entry.id, at)
        _touch_entry.rowcount(id=entry.id, break_seconds=break_seconds, updated_at=now)
        record = get_entry(account_id, entry.id, breaks=periods)
        emit(account_id, "break_end", record)
    return record


def _check_span(tz, start: dt.datetime, end: dt.datetime,
                breaks: list[tuple[dt.datetime, dt.datetime]]) -> list[tuple[dt.datetime,
                                                                               dt.datetime]]:
    """Check a closed entry's times; returns its breaks as sorted stored-UTC pairs."""
    if end <= start:
        raise Invalid("clock_out must be after clock_in", field="clock_out")
    if end > utcnow() + CLOCK_SKEW:
        raise Invalid("clock_out cannot be in the future", field="clock_out")
    periods = sorted((as_naive_utc(b, tz), as_naive_utc(e, tz)) for b, e in breaks)
    previous_end = start
    for b_start, b_end in periods:
        if not (previous_end <= b_start < b_end <= end):
            raise Invalid("Breaks must lie inside the entry, each ending after it starts "
                          "and none overlapping", field="breaks")
        previous_end = b_end
    return periods


def _seconds(periods: list[tuple[dt.datetime, dt.datetime]]) -> int:
    return sum(int((e - b).total_seconds()) for b, e in periods)


def _refuse_overlap(worker_id: int, start: dt.datetime, end: dt.datetime | None,
                    exclude: int | None = None) -> None:
    """Refuse a span that meets another entry of the worker (an open entry runs on forever)."""
    query = TimeEntryRow.select(TimeEntryRow.id).where(
        (TimeEntryRow.worker == worker_id)
        & (TimeEntryRow.clock_out.is_null() | (TimeEntryRow.clock_out > start))
    )
    if end is not None:
        query = query.where(TimeEntryRow.clock_in < end)
    if exclude is not None:
        query = query.where(TimeEntryRow.id != exclude)
    clash = query.first()
    if clash is not None:
        raise Conflict(f"Worker {worker_id} already has time entry {clash.id} in that time",
                       code="entry_overlap", entry_id=clash.id)


def record_entry(
    account_id: int,
    worker_id: int,
    location_id: int,
    clock_in: dt.datetime,
    clock_out: dt.datetime,
    *,
    breaks: list[tuple[dt.datetime, dt.datetime]] | None = None,
    cost_code_id: int | None = None,
    notes: str | None = None,
    source: str = "import",
    status: str = "completed",
) -> TimeEntry:
    """Record a finished entry after the fact (imports, manual timesheet lines).

    No backdating limit applies, but the entry may not be in the future, its breaks
    must lie inside it, and it may not overlap another entry of the worker.
    Fires `entry_created`.
    """
    _check_source(source)
    if status not in ("completed", "approved", "disputed"):
        raise Invalid("status must be completed, approved or disputed", field="status")
    notes = clean_text(notes, "notes", max_length=2000, multiline=True)
    with transaction():
        worker = fetch(WorkerRow, account_id, worker_id, "Worker")
        location = fetch(LocationRow, account_id, location_id, "Location")
        cost_code = (None if cost_code_id is None
                     else fetch(CostCodeRow, account_id, cost_code_id, "Cost code"))
        tz = zone(location.timezone)
        start, end = as_naive_utc(clock_in, tz), as_naive_utc(clock_out, tz)
        periods = _check_span(tz, start, end, breaks or [])
        lock_for_update(WorkerRow, worker.id)
        _refuse_overlap(worker.id, start, end)
        break_seconds = _seconds(periods)
        entry = TimeEntryRow.create(
            account=account_id,
            worker=worker.id,
            location=location.id,
            department=worker.department_id,
            cost_code=cost_code,
            shift=getattr(_matching_shift(worker.id, location.id, start), "id", None),
            clock_in=start,
            clock_out=end,
            work_date=local_date(start, tz),
            break_seconds=break_seconds,
            worked_seconds=int((end - start).total_seconds()) - break_seconds,
            status=status,
            source=source,
            notes=notes,
        )
        if periods:
            BreakRow.insert_many(
                [{"account": account_id, "entry": entry.id, "start": b, "end": e}
                 for b, e in periods]
            ).execute()
        record = get_entry(account_id, entry.id)
        emit(account_id, "entry_created", record)
    return record


def clock(account_id: int, request: ClockRequest, *, source: str = "api") -> TimeEntry:
    """Carry out a `POST /clock` body: dispatch on `action` after checking required fields."""
    worker_id = require(request.worker_id, "worker_id")
    action = require(request.action, "action")
    if action not in ACTIONS:
        raise Invalid(f"Unknown action {action!r}; use one of: {', '.join(ACTIONS)}",
                      field="action", code="unknown_action")
    position = Position(request.latitude, request.longitude, request.gps_accuracy)
    if action == "in":
        return clock_in(account_id, worker_id, location_id=request.location_id,
                        timestamp=request.timestamp, cost_code_id=request.cost_code_id,
                        notes=request.notes, position=position, source=source)
    if action == "out":
        return clock_out(account_id, worker_id, timestamp=request.timestamp,
                         notes=request.notes, position=position)
    if action == "break_start":
        return start_break(account_id, worker_id, timestamp=request.timestamp)
    return end_break(account_id, worker_id, timestamp=request.timestamp)


# --- corrections ------------------------------------------------------------------


class EntryChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What an admin corrects on an entry; fields left UNSET stay as they are."""

    clock_in: dt.datetime | UnsetType = UNSET
    clock_out: dt.datetime | UnsetType = UNSET
    location_id: int | UnsetType = UNSET
    cost_code_id: int | None | UnsetType = UNSET
    notes: str | None | UnsetType = UNSET
    breaks: list[tuple[dt.datetime, dt.datetime]] | UnsetType = UNSET


class EntryChange(msgspec.Struct, kw_only=True):
    """One correction in an entry's history: what changed (old, new) and why."""

    id: int
    entry_id: int
    reason: str
    changes: dict[str, list[Any]]
    created_at: dt.datetime


def _snapshot(entry: TimeEntryRow) -> dict[str, Any]:
    breaks = [(utc(b.start), utc(b.end)) for b in
              BreakRow.select().where(BreakRow.entry == entry.id).order_by(BreakRow.start)]
    return {
        "clock_in": utc(entry.clock_in),
        "clock_out": utc(entry.clock_out),
        "location_id": entry.location_id,
        "cost_code_id": entry.cost_code_id,
        "notes": entry.notes,
        "breaks": breaks,
        "status": entry.status,
    }


def edit_entry(account_id: int, entry_id: int, changes: EntryChanges, *, reason: str) -> TimeEntry:
    """Correct an entry, keeping the reason and the old values in its history.

    The same rules as clocking hold (no overlap, no future times, breaks inside the
    entry). Correcting an approved entry returns it to `completed` for re-approval.
    Fires `entry_updated`.
    """
    reason = clean_text(reason, "reason", max_length=500, required=True, multiline=True)
    fields = set_fields(changes)
    if not fields:
        raise Invalid("Nothing to change", field="changes")
    with transaction():
        entry = fetch(TimeEntryRow, account_id, entry_id, "Time entry")
        before = _snapshot(entry)
        if "location_id" in fields:
            location = fetch(LocationRow, account_id, fields["location_id"], "Location")
            entry.location = location.id
        location = LocationRow.get_by_id(entry.location_id)
        tz = zone(location.timezone)
        if "cost_code_id" in fields:
            ident = fields["cost_code_id"]
            entry.cost_code = (None if ident is None
                               else fetch(CostCodeRow, account_id, ident, "Cost code").id)
        if "notes" in fields:
            entry.notes = clean_text(fields["notes"], "notes", max_length=2000, multiline=True)
        if "clock_in" in fields:
            entry.clock_in = as_naive_utc(fields["clock_in"], tz)
        if "clock_out" in fields:
            if entry.clock_out is None:
                raise Conflict(f"Time entry {entry.id} is still open; clock the worker out "
                               "instead", code="entry_open")
            entry.clock_out = as_naive_utc(fields["clock_out"], tz)
        if entry.clock_out is None:
            if "breaks" in fields:
                raise Conflict("Breaks of an open entry change by clocking, not by editing",
                               code="entry_open")
            if entry.clock_in > utcnow() + CLOCK_SKEW:
                raise Invalid("clock_in cannot be in the future", field="clock_in")
            first_break = (BreakRow.select(BreakRow.start)
                           .where(BreakRow.entry == entry.id)
                           .order_by(BreakRow.start).first())
            if first_break is not None and first_break.start < entry.clock_in:
                raise Invalid("clock_in cannot be after the entry's first break",
                              field="clock_in")
        else:
            breaks = fields.get("breaks", before["breaks"])
            periods = _check_span(tz, entry.clock_in, entry.clock_out, breaks)
            entry.break_seconds = _seconds(periods)
            entry.worked_seconds = (int((entry.clock_out - entry.clock_in).total_seconds())
                                    - entry.break_seconds)
            if "breaks" in fields:
                BreakRow.delete().where(BreakRow.entry == entry.id).execute()
                if periods:
                    BreakRow.insert_many(
                        [{"account": account_id, "entry": entry.id, "start": b, "end": e}
                         for b, e in periods]
                    ).execute()
            if entry.status == "approved":
                entry.status = "completed"
        lock_for_update(WorkerRow, entry.worker_id)
        _refuse_overlap(entry.worker_id, entry.clock_in, entry.clock_out, exclude=entry.id)
        entry.work_date = local_date(entry.clock_in, tz)
        entry.updated_at = utcnow()
        entry.save()
        after = _snapshot(entry)
        diff = {name: [before[name], after[name]] for name in before
                if before[name] != after[name]}
        if not diff:
            raise Invalid("Those values are what the entry already has", field="changes")
        EntryEditRow.create(account=account_id, entry=entry.id, reason=reason,
                            changes=msgspec.json.encode(diff).decode())
        record = get_entry(account_id, entry.id)
        emit(account_id, "entry_updated", {"entry": record, "reason": reason})
    return record


def entry_history(account_id: int, entry_id: int) -> list[EntryChange]:
    """An entry's corrections, oldest first."""
    fetch(TimeEntryRow, account_id, entry_id, "Time entry")
    rows = (EntryEditRow.select()
            .where((EntryEditRow.account == account_id) & (EntryEditRow.entry == entry_id))
            .order_by(EntryEditRow.id))
    return [
        EntryChange(id=row.id, entry_id=row.entry_id, reason=row.reason,
                    changes=msgspec.json.decode(row.changes), created_at=utc(row.created_at))
        for row in rows
    ]
