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
import unicodedata
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, UnsetType
from peewee import JOIN, IntegrityError

from tempclock.api.services.common import (
    as_naive_utc,
    check_range,
    clean_text,
    emit,
    fetch,
    local_date,
    local_moments,
    lock_for_update,
    set_fields,
    transaction,
    utc,
    utcnow,
    zone,
)
from tempclock.api.services.errors import Conflict, Forbidden, Invalid, NotFound, require
from tempclock.api.services.periods import refuse_approved, refuse_exported, refuse_signed_off_day
from tempclock.api.services.timesheets import (
    Actor,
    BreakPeriod,
    TimeEntry,
    TimeEntryDetail,
    TimesheetUpdate,
    change_record,
    entry_history,
    entry_query,
    entry_record,
    get_entry,
)
from tempclock.api.store.models import Break as BreakRow
from tempclock.api.store.models import CostCode as CostCodeRow
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import EntryEdit as EntryEditRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Shift as ShiftRow
from tempclock.api.store.models import TimeEntry as TimeEntryRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.prepared import Prepared, Slot

ACTIONS = ("in", "out", "break_start", "break_end")
SOURCES = ("api", "desktop", "kiosk", "kiosk_offline", "import", "manual")
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
    tz = zone(location.timezone)
    if timestamp.tzinfo is None:  # a kiosk's wall clock: in the hour shown twice, the latest past
        happened = [m for m in local_moments(timestamp, tz)
                    if m.replace(tzinfo=None) <= now + CLOCK_SKEW]
        timestamp = happened[-1] if happened else timestamp
    at = as_naive_utc(timestamp, tz, field="timestamp")
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
# What a clock action reads of its worker (with the names its record shows) and of its
# site. A caller that has read them itself (the kiosk, by PIN and by link) selects these
# same columns and hands the rows to `clock_in_at_site` / `clock_out_at_site`.
WORKER_COLUMNS = (
    WorkerRow.id, WorkerRow.active, WorkerRow.location, WorkerRow.department,
    WorkerRow.first_name, WorkerRow.last_name, WorkerRow.employee_ref,
    DepartmentRow.name.alias("department_name"),
)
LOCATION_COLUMNS = (
    LocationRow.id, LocationRow.name, LocationRow.active, LocationRow.timezone,
    LocationRow.latitude, LocationRow.longitude, LocationRow.geofence_mode,
    LocationRow.geofence_radius_m, LocationRow.gps_accuracy_threshold,
    LocationRow.max_backdate_hours,
)
_worker = Prepared(
    lambda p: WorkerRow.select(*WORKER_COLUMNS)
    .join(DepartmentRow, JOIN.LEFT_OUTER)
    .where((WorkerRow.id == p.id) & (WorkerRow.account == p.account))
)
_location = Prepared(
    lambda p: LocationRow.select(*LOCATION_COLUMNS)
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
# The worker's latest entry with everything its record shows (see `_latest_entry`).
_latest_record = Prepared(
    lambda p: entry_query(p.account)
    .where(TimeEntryRow.worker == p.worker)
    .order_by(TimeEntryRow.clock_in.desc())
    .limit(1)
)
_shift_at = Prepared(
    lambda p: ShiftRow.select(ShiftRow.id, ShiftRow.cost_code, CostCodeRow.code)
    .join(CostCodeRow, JOIN.LEFT_OUTER)
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


def _open_entry(account_id: int, worker_id: int, site: Any = None) -> Any:
    """The worker's open entry (a row of `entry_query`) and its location, or
    `not_clocked_in`; `site` is the location when the caller has read it already."""
    lock_for_update(WorkerRow, worker_id)
    entry = _latest_record.one(account=account_id, worker=worker_id)
    if entry is None or entry.clock_out is not None:
        _get_worker(account_id, worker_id)  # another account's worker: 404, not 409
        raise Conflict(f"Worker {worker_id} is not clocked in", code="not_clocked_in")
    if site is not None and site.id == entry.location_id:
        return entry, site
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


def _close_breaks(breaks: list[Any], at: dt.datetime) -> tuple[int, list[BreakPeriod]]:
    """End an open break of `breaks` (an entry's, as `_breaks` reads them) at `at`;
    returns the entry's total break seconds and its breaks."""
    total = 0
    periods = []
    for row in breaks:
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

    def worker_site_and_code() -> tuple[Any, Any, Any]:
        worker = _free_to_clock_in(_get_worker(account_id, worker_id))
        location = _site_to_clock_in_at(account_id, worker, location_id)
        cost_code = (None if cost_code_id is None
                     else fetch(CostCodeRow, account_id, cost_code_id, "Cost code"))
        return worker, location, cost_code

    return _clock_in(account_id, worker_id, worker_site_and_code, _Asked(
        timestamp=timestamp, notes=notes, position=position, source=source))


def clock_in_at_site(account_id: int, worker: Any, location: Any, *,
                     timestamp: dt.datetime | None = None, position: Position = Position(),
                     source: str = "kiosk") -> TimeEntry:
    """`clock_in` for a caller that has read the worker and the site itself, with
    `WORKER_COLUMNS` and `LOCATION_COLUMNS` of this account (the kiosk: by PIN and by
    link, in the transaction it runs this in). The same rules and events apply."""
    _check_source(source)

    def worker_site_and_code() -> tuple[Any, Any, Any]:
        return _free_to_clock_in(worker), _open_site(location), None

    return _clock_in(account_id, worker.id, worker_site_and_code, _Asked(
        timestamp=timestamp, notes=None, position=position, source=source))


class _Asked(NamedTuple):
    """What a clock-in asks for besides the worker and the site."""

    timestamp: dt.datetime | None
    notes: str | None
    position: Position
    source: str


def _clock_in(account_id: int, worker_id: int,
              worker_site_and_code: Callable[[], tuple[Any, Any, Any]],
              asked: _Asked) -> TimeEntry:
    """Check the worker, the site and the time, decide the fence, open the entry."""
    try:
        with transaction():
            worker, location, cost_code = worker_site_and_code()
            now = utcnow()
            at = _moment(asked.timestamp, location, now)
            geo = geofence(location, asked.position)
            _refuse_a_second_entry(worker.id, at)
            if geo.refused:
                refusal = _refuse_outside_fence(account_id, worker.id, location, geo, at)
            else:
                return _start_entry(account_id, worker, location, geo, _NewEntry(
                    at=at, now=now, cost_code=cost_code, notes=asked.notes,
                    position=asked.position, source=asked.source))
    except IntegrityError:
        # Only reachable when a concurrent writer slipped past the check: the index held.
        raise Conflict(f"Worker {worker_id} is already clocked in",
                       code="already_clocked_in") from None
    raise refusal  # after the commit that kept the refusal's event


class _NewEntry(NamedTuple):
    """What a clock-in brings besides the worker, the site and the fence."""

    at: dt.datetime
    now: dt.datetime
    cost_code: Any  # the cost code asked for (a row with `id` and `code`), or None
    notes: str | None
    position: Position
    source: str


def _free_to_clock_in(worker: Any) -> Any:
    """The worker, if active."""
    if not worker.active:
        raise Conflict(f"Worker {worker.id} is inactive and cannot clock in",
                       code="worker_inactive")
    return worker


def _site_to_clock_in_at(account_id: int, worker: Any, location_id: int | None) -> Any:
    """The site asked for, else the worker's assigned one; it must be open."""
    if location_id is None and worker.location_id is None:
        raise Invalid("Missing required field: location_id (the worker has no "
                      "assigned location)", field="location_id", code="missing_field")
    return _open_site(_get_location(account_id, location_id or worker.location_id))


def _open_site(location: Any) -> Any:
    """The location, if active."""
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
    cost_code_id, cost_code = ((new.cost_code.id, new.cost_code.code) if new.cost_code
                               else (shift.cost_code_id, shift.code) if shift else (None, None))
    # As the float columns give them back (an int latitude reads back as a float).
    latitude, longitude, accuracy = (None if v is None else float(v) for v in new.position)
    values = {
        "account": account_id,
        "worker": worker.id,
        "location": location.id,
        "department": worker.department_id,
        "cost_code": cost_code_id,
        "shift": None if shift is None else shift.id,
        "clock_in": new.at,
        "work_date": local_date(new.at, zone(location.timezone)),
        "status": "open",
        "source": new.source,
        "latitude": latitude,
        "longitude": longitude,
        "gps_accuracy": accuracy,
        "within_geofence": geo.within,
        "distance_meters": geo.distance_meters,
        "low_gps_confidence": geo.low_confidence,
        "notes": new.notes,
        "created_at": new.now,
        "updated_at": new.now,
    }
    entry_id = _insert_entry.insert(**values)
    # The record from what was just written (no read back): the row as `entry_query` gives it.
    record = entry_record(SimpleNamespace(
        **values, id=entry_id, clock_out=None, break_seconds=0, worked_seconds=None,
        first_name=worker.first_name, last_name=worker.last_name,
        employee_ref=worker.employee_ref, location_name=location.name,
        department_name=worker.department_name, cost_code_code=cost_code,
        worker_id=worker.id, location_id=location.id, department_id=worker.department_id,
        cost_code_id=cost_code_id, shift_id=values["shift"]), breaks=[])
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
    site: Any = None,
) -> TimeEntry:
    """Close the worker's open entry (ending any open break). Fires `clock_out`.

    A position outside a `warn` or `block` fence raises `clock.geofence_breach` but
    never keeps a worker clocked in. `site`: a location the caller has read already
    (`LOCATION_COLUMNS`), used when it is the entry's.
    """
    notes = clean_text(notes, "notes", max_length=2000, multiline=True)
    with transaction():
        entry, location = _open_entry(account_id, worker_id, site)
        now = utcnow()
        at = _moment(timestamp, location, now)
        if at < entry.clock_in:
            raise Invalid("Clock-out cannot be before the clock-in at "
                          f"{entry.clock_in.isoformat()}Z", field="timestamp")
        breaks = _breaks.rows(entry=entry.id)
        _refuse_before_last_break(breaks, at)
        geo = geofence(location, position)
        break_seconds, periods = _close_breaks(breaks, at)
        if notes:
            notes = f"{entry.notes}\n{notes}" if entry.notes else notes
        closed = entry._replace(
            clock_out=at,
            worked_seconds=max(0, int((at - entry.clock_in).total_seconds()) - break_seconds),
            break_seconds=break_seconds,
            status="completed",
            notes=notes or entry.notes,
            updated_at=now,
        )
        _close_entry.rowcount(id=entry.id, clock_out=closed.clock_out,
                              worked_seconds=closed.worked_seconds,
                              break_seconds=break_seconds, notes=closed.notes, updated_at=now)
        record = entry_record(closed, periods)
        emit(account_id, "clock_out", record)
        if geo.within is False:
            emit(account_id, "clock.geofence_breach",
                 _geo_event({"entry_id": entry.id, "worker_id": worker_id}, location, geo))
    return record


def _refuse_before_last_break(breaks: list[Any], at: dt.datetime) -> None:
    """A clock-out (backdated, or queued on a kiosk) may not come before the latest break
    ended, or an open one started: the entry would end before its own break."""
    if not breaks:
        return
    last = breaks[-1]
    bound, what = (last.start, "started") if last.end is None else (last.end, "ended")
    if at < bound:
        raise Invalid(f"Clock-out cannot be before the break that {what} at "
                      f"{bound.isoformat()}Z", field="timestamp")


def start_break(account_id: int, worker_id: int, *,
                timestamp: dt.datetime | None = None, site: Any = None) -> TimeEntry:
    """Start a break in the worker's open entry. Fires `break_start`. (`site`: as for
    `clock_out`.)"""
    with transaction():
        entry, location = _open_entry(account_id, worker_id, site)
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
        break_seconds = sum(int((b.end - b.start).total_seconds()) for b in breaks)
        _touch_entry.rowcount(id=entry.id, break_seconds=break_seconds, updated_at=now)
        periods = [*(BreakPeriod(start=utc(b.start), end=utc(b.end)) for b in breaks),
                   BreakPeriod(start=utc(at), end=None)]
        record = entry_record(entry._replace(break_seconds=break_seconds, updated_at=now),
                              periods)
        emit(account_id, "break_start", record)
    return record


def end_break(account_id: int, worker_id: int, *,
              timestamp: dt.datetime | None = None, site: Any = None) -> TimeEntry:
    """End the worker's current break. Fires `break_end`. (`site`: as for `clock_out`.)"""
    with transaction():
        entry, location = _open_entry(account_id, worker_id, site)
        breaks = _breaks.rows(entry=entry.id)
        if not breaks or breaks[-1].end is not None:
            raise Conflict(f"Worker {worker_id} is not on a break", code="not_on_break",
                           entry_id=entry.id)
        now = utcnow()
        at = _moment(timestamp, location, now)
        if at < breaks[-1].start:
            raise Invalid("A break cannot end before it started", field="timestamp")
        break_seconds, periods = _close_breaks(breaks, at)
        _touch_entry.rowcount(id=entry.id, break_seconds=break_seconds, updated_at=now)
        record = entry_record(entry._replace(break_seconds=break_seconds, updated_at=now),
                              periods)
        emit(account_id, "break_end", record)
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


# --- time written after the fact --------------------------------------------------
# Manual entries, imports and corrections share the rules of clocking (no overlap, no
# future times, breaks inside the entry) and the locks of `tempclock.api.services.periods`.

Span = tuple[dt.datetime, dt.datetime]
MAX_WRITTEN_ENTRY_HOURS = 24  # longer is a typo (a wrong day or year), not a shift
MAX_WRITTEN_ENTRY = dt.timedelta(hours=MAX_WRITTEN_ENTRY_HOURS)
MAX_BREAKS = 24


class BreakSpan(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A finished break: `start` and `end` (without an offset, local time at the site)."""

    start: dt.datetime
    end: dt.datetime


def _check_length(start: dt.datetime, end: dt.datetime, field: str) -> None:
    if end - start > MAX_WRITTEN_ENTRY:
        raise Invalid(f"An entry written by hand can be at most {MAX_WRITTEN_ENTRY_HOURS} hours "
                      "long; write one entry per shift", field=field)


def _check_span(tz, start: dt.datetime, end: dt.datetime, breaks: list[Span], *,
                written: bool = True) -> list[Span]:
    """Check a closed entry's times; returns its breaks as sorted stored-UTC pairs.

    `written`: the times are being set now, so the entry's length is checked too.
    """
    if end <= start:
        raise Invalid("clock_out must be after clock_in", field="clock_out")
    if end > utcnow() + CLOCK_SKEW:
        raise Invalid("clock_out cannot be in the future", field="clock_out")
    if written:
        _check_length(start, end, "clock_out")
    if len(breaks) > MAX_BREAKS:
        raise Invalid(f"An entry can have at most {MAX_BREAKS} breaks", field="breaks")
    spans = sorted((as_naive_utc(b, tz, field="breaks"), as_naive_utc(e, tz, field="breaks"))
                   for b, e in breaks)
    previous_end = start
    for b_start, b_end in spans:
        if not (previous_end <= b_start < b_end <= end):
            raise Invalid("Breaks must lie inside the entry, each ending after it starts "
                          "and none overlapping", field="breaks")
        previous_end = b_end
    return spans


def _seconds(spans: list[Span]) -> int:
    return sum(int((e - b).total_seconds()) for b, e in spans)


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


def _replace_breaks(account_id: int, entry_id: int, spans: list[Span]) -> None:
    BreakRow.delete().where(BreakRow.entry == entry_id).execute()
    if spans:
        BreakRow.insert_many(
            [{"account": account_id, "entry": entry_id, "start": b, "end": e} for b, e in spans]
        ).execute()


def _insert_finished(account_id: int, worker: Any, location: Any, clock_in: dt.datetime,
                     clock_out: dt.datetime, breaks: list[Span], *, cost_code_id: int | None,
                     notes: str | None, source: str, status: str) -> int:
    """Check a closed entry against the rules and the locks, insert it; returns its id."""
    tz = zone(location.timezone)
    start = as_naive_utc(clock_in, tz, field="clock_in")
    end = as_naive_utc(clock_out, tz, field="clock_out")
    spans = _check_span(tz, start, end, breaks)
    work_date = local_date(start, tz)
    lock_for_update(WorkerRow, worker.id)
    _refuse_overlap(worker.id, start, end)
    refuse_exported(account_id, [work_date])
    refuse_signed_off_day(worker.id, work_date)
    break_seconds = _seconds(spans)
    entry = TimeEntryRow.create(
        account=account_id,
        worker=worker.id,
        location=location.id,
        department=worker.department_id,
        cost_code=cost_code_id,
        shift=getattr(_matching_shift(worker.id, location.id, start), "id", None),
        clock_in=start,
        clock_out=end,
        work_date=work_date,
        break_seconds=break_seconds,
        worked_seconds=int((end - start).total_seconds()) - break_seconds,
        status=status,
        source=source,
        notes=notes,
    )
    _replace_breaks(account_id, entry.id, spans)
    return entry.id


def _cost_code_id(account_id: int, cost_code_id: int | None) -> int | None:
    if cost_code_id is None:
        return None
    return fetch(CostCodeRow, account_id, cost_code_id, "Cost code").id


def record_entry(
    account_id: int,
    worker_id: int,
    location_id: int,
    clock_in: dt.datetime,
    clock_out: dt.datetime,
    *,
    breaks: list[Span] | None = None,
    cost_code_id: int | None = None,
    notes: str | None = None,
    source: str = "import",
    status: str = "completed",
) -> TimeEntry:
    """Record a finished entry brought in from elsewhere (imports, demo data).

    No backdating limit applies, but the entry may not be in the future, its breaks
    must lie inside it, it may not overlap another entry of the worker, and its day
    may not be locked (`tempclock.api.services.periods`). A manual entry an admin or an
    integrator writes is `add_entry`, which keeps an audit record. Fires
    `timesheet_updated`.
    """
    _check_source(source)
    if status not in ("completed", "approved", "disputed"):
        raise Invalid("status must be completed, approved or disputed", field="status")
    notes = clean_text(notes, "notes", max_length=2000, multiline=True)
    with transaction():
        worker = fetch(WorkerRow, account_id, worker_id, "Worker")
        location = fetch(LocationRow, account_id, location_id, "Location")
        entry_id = _insert_finished(
            account_id, worker, location, clock_in, clock_out, breaks or [],
            cost_code_id=_cost_code_id(account_id, cost_code_id), notes=notes, source=source,
            status=status)
        record = get_entry(account_id, entry_id)
        emit(account_id, "timesheet_updated",
             TimesheetUpdate(**msgspec.structs.asdict(record), edit=None))
    return record


class EntryCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /timesheets`: a finished entry written by hand, and why.

    Times without an offset are local times at the location.
    """

    worker_id: int
    location_id: int
    clock_in: dt.datetime
    clock_out: dt.datetime
    reason: str
    breaks: list[BreakSpan] = msgspec.field(default_factory=list)
    cost_code_id: int | None = None
    notes: str | None = None


def _reason(reason: str | None) -> str:
    """The reason for a manual write: text a person can read, not blanks or invisible marks."""
    reason = clean_text(reason, "reason", max_length=500, required=True, multiline=True)
    if not any(unicodedata.category(char)[0] in "LNPS" for char in reason):
        raise Invalid("reason must say why in words", field="reason", code="missing_field")
    return reason


def _active(row: Any, what: str) -> Any:
    if not row.active:
        raise Conflict(f"{what} {row.id} is inactive; time cannot be added for it",
                       code=f"{what.lower()}_inactive")
    return row


def add_entry(account_id: int, entry: EntryCreate, *, actor: Actor) -> TimeEntryDetail:
    """Add a finished entry by hand (source `manual`), e.g. a night shift the kiosk never sent.

    No backdating limit applies; the rules of `record_entry` do, the worker and the
    location must be active, and `reason` is required. The write is audited (who,
    when, the values, why). Fires `timesheet_updated`.
    """
    reason = _reason(entry.reason)
    notes = clean_text(entry.notes, "notes", max_length=2000, multiline=True)
    with transaction():
        worker = _active(fetch(WorkerRow, account_id, entry.worker_id, "Worker"), "Worker")
        location = _active(fetch(LocationRow, account_id, entry.location_id, "Location"),
                           "Location")
        entry_id = _insert_finished(
            account_id, worker, location, entry.clock_in, entry.clock_out,
            [(b.start, b.end) for b in entry.breaks],
            cost_code_id=_cost_code_id(account_id, entry.cost_code_id), notes=notes,
            source="manual", status="completed")
        after = _snapshot(TimeEntryRow.get_by_id(entry_id))
        return _audit(account_id, entry_id, "created", actor, reason,
                      _diff(dict.fromkeys(after), after))


# --- corrections ------------------------------------------------------------------


class EntryChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What an admin corrects on an entry; fields left UNSET stay as they are."""

    clock_in: dt.datetime | UnsetType = UNSET
    clock_out: dt.datetime | UnsetType = UNSET
    location_id: int | UnsetType = UNSET
    cost_code_id: int | None | UnsetType = UNSET
    notes: str | None | UnsetType = UNSET
    breaks: list[Span] | UnsetType = UNSET


class EntryCorrection(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `PATCH /timesheets`: what to correct (fields left out stay) and why.

    Times without an offset are local times at the entry's location; `breaks`
    replaces all of the entry's breaks.
    """

    reason: str
    clock_in: dt.datetime | UnsetType = UNSET
    clock_out: dt.datetime | UnsetType = UNSET
    breaks: list[BreakSpan] | UnsetType = UNSET
    cost_code_id: int | None | UnsetType = UNSET
    notes: str | None | UnsetType = UNSET


def _snapshot(entry: TimeEntryRow) -> dict[str, Any]:
    breaks = [BreakPeriod(start=utc(b.start), end=utc(b.end)) for b in
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


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [before[name], after[name]] for name in after if before[name] != after[name]}


def _audit(account_id: int, entry_id: int, action: str, actor: Actor, reason: str,
           diff: dict[str, list[Any]]) -> TimeEntryDetail:
    """Keep the audit record of a write and emit `timesheet_updated`; returns the entry."""
    row = EntryEditRow.create(account=account_id, entry=entry_id, action=action,
                              actor_type=actor.type, actor_key_id=actor.key_id,
                              actor_name=actor.name[:100], reason=reason,
                              changes=msgspec.json.encode(diff).decode())
    record = get_entry(account_id, entry_id)
    emit(account_id, "timesheet_updated",
         TimesheetUpdate(**msgspec.structs.asdict(record), edit=change_record(row)))
    return TimeEntryDetail(**msgspec.structs.asdict(record),
                           edits=entry_history(account_id, entry_id))


def edit_entry(account_id: int, entry_id: int, changes: EntryChanges, *, reason: str,
               actor: Actor) -> TimeEntryDetail:
    """Correct an entry, keeping who, when, the old and new values and why in its history.

    The same rules as clocking hold (no overlap, no future times, breaks inside the
    entry), and locked time is refused with `period_locked` (`tempclock.api.services.periods`:
    an approved entry, a day in an exported pay period, a move onto a signed-off
    day). Fires `timesheet_updated`.
    """
    reason = _reason(reason)
    fields = set_fields(changes)
    if not fields:
        raise Invalid("Nothing to change", field="changes")
    with transaction():
        entry = fetch(TimeEntryRow, account_id, entry_id, "Time entry")
        before = _snapshot(entry)
        refuse_approved(entry.id, entry.status)
        refuse_exported(account_id, [entry.work_date])
        tz = _apply_changes(account_id, entry, fields)
        spans = _check_times(entry, fields, [(b.start, b.end) for b in before["breaks"]], tz)
        _refuse_clash(account_id, entry, tz)
        _save_changes(account_id, entry, spans)
        diff = _diff(before, _snapshot(entry))
        if not diff:
            raise Invalid("Those values are what the entry already has", field="changes")
        return _audit(account_id, entry.id, "corrected", actor, reason, diff)


def correct_entry(account_id: int, entry_id: int, correction: EntryCorrection, *,
                  actor: Actor) -> TimeEntryDetail:
    """Carry out a `PATCH /timesheets` body (an integrator's correction; the site stays)."""
    fields = set_fields(correction)
    reason = fields.pop("reason")
    if "breaks" in fields:
        fields["breaks"] = [(b.start, b.end) for b in fields["breaks"]]
    return edit_entry(account_id, entry_id, EntryChanges(**fields), reason=reason, actor=actor)


def _apply_changes(account_id: int, entry: TimeEntryRow, fields: dict[str, Any]):
    """Set the changed fields on the row (site first: times are read in its zone); its zone."""
    if "location_id" in fields:
        entry.location = fetch(LocationRow, account_id, fields["location_id"], "Location").id
    tz = zone(LocationRow.get_by_id(entry.location_id).timezone)
    if "cost_code_id" in fields:
        entry.cost_code = _cost_code_id(account_id, fields["cost_code_id"])
    if "notes" in fields:
        entry.notes = clean_text(fields["notes"], "notes", max_length=2000, multiline=True)
    if "clock_in" in fields:
        entry.clock_in = as_naive_utc(fields["clock_in"], tz, field="clock_in")
    if "clock_out" in fields:
        if entry.clock_out is None:
            raise Conflict(f"Time entry {entry.id} is still open; clock the worker out "
                           "instead", code="entry_open")
        entry.clock_out = as_naive_utc(fields["clock_out"], tz, field="clock_out")
    return tz


def _check_times(entry: TimeEntryRow, fields: dict[str, Any], breaks: list[Span],
                 tz) -> list[Span] | None:
    """Check the corrected times; the breaks to store when they change (None: they stay)."""
    if entry.clock_out is None:
        if "breaks" in fields:
            raise Conflict("Breaks of an open entry change by clocking, not by editing",
                           code="entry_open")
        if entry.clock_in > utcnow() + CLOCK_SKEW:
            raise Invalid("clock_in cannot be in the future", field="clock_in")
        if "clock_in" in fields:
            _check_length(entry.clock_in, utcnow(), "clock_in")  # an open entry runs to now
        first_break = (BreakRow.select(BreakRow.start)
                       .where(BreakRow.entry == entry.id)
                       .order_by(BreakRow.start).first())
        if first_break is not None and first_break.start < entry.clock_in:
            raise Invalid("clock_in cannot be after the entry's first break", field="clock_in")
        return None
    spans = _check_span(tz, entry.clock_in, entry.clock_out, fields.get("breaks", breaks),
                        written="clock_in" in fields or "clock_out" in fields)
    entry.break_seconds = _seconds(spans)
    entry.worked_seconds = (int((entry.clock_out - entry.clock_in).total_seconds())
                            - entry.break_seconds)
    return spans if "breaks" in fields else None


def _refuse_clash(account_id: int, entry: TimeEntryRow, tz) -> None:
    """Refuse a corrected entry that meets another of the worker's, or lands on locked time."""
    lock_for_update(WorkerRow, entry.worker_id)
    _refuse_overlap(entry.worker_id, entry.clock_in, entry.clock_out, exclude=entry.id)
    work_date = local_date(entry.clock_in, tz)
    if work_date != entry.work_date:
        refuse_exported(account_id, [work_date])
        refuse_signed_off_day(entry.worker_id, work_date, exclude=entry.id)
        entry.work_date = work_date


def _save_changes(account_id: int, entry: TimeEntryRow, spans: list[Span] | None) -> None:
    entry.updated_at = utcnow()
    entry.save()
    if spans is not None:
        _replace_breaks(account_id, entry.id, spans)
