"""Who is late: scheduled shifts whose worker has not clocked in.

A shift is **late** once more than its site's grace minutes (`set_grace_minutes`,
default 10) have passed since its start with no clock-in of its worker at its site
(a clock-in up to an hour early counts, as it does for matching entries to shifts, and
so does being clocked in there already, and still when the grace runs out),
and **missed** once its end has passed so. `sweep` (run by the dispatcher) fires
`shift_late` and `shift_missed` once each per shift: each firing is recorded with its
event in one transaction, so a restart never fires one twice (`shifts.update_shift`
re-arms them for a shift given a new start, site or worker, and *missed* for a new end).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from peewee import JOIN, IntegrityError, fn

from tempclock.api.services.clocking import SHIFT_EARLY
from tempclock.api.services.common import check_range, emit, fetch, transaction, utc, utcnow
from tempclock.api.services.errors import Invalid
from tempclock.api.store.models import LateGrace as GraceRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Shift as ShiftRow
from tempclock.api.store.models import ShiftAlert as AlertRow
from tempclock.api.store.models import TimeEntry as EntryRow
from tempclock.api.store.models import Worker as WorkerRow

# Shifts that ended longer ago than this are history: a host started after a long stop
# does not announce every shift it slept through, and the board stops listing them.
LOOKBACK = dt.timedelta(hours=12)
# A worker clocked in at a shift's site when it starts is there for it, if that entry began
# at most this long before: one open for longer was left open (a forgotten clock-out).
ON_SITE_SINCE = dt.timedelta(hours=24)
EVENT_OF_STATUS = {"late": "shift_late", "missed": "shift_missed"}
DEFAULT_GRACE_MINUTES = 10
MAX_GRACE_MINUTES = 24 * 60


class Expected(msgspec.Struct, kw_only=True):
    """A shift whose worker was expected and is not here (the event's data too)."""

    shift_id: int
    worker_id: int
    worker_name: str
    location_id: int
    location_name: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str  # late | missed


def grace_minutes(account_id: int, location_id: int) -> int:
    """How many minutes after a shift's start its worker counts as late at this site."""
    site = fetch(LocationRow, account_id, location_id, "Location")
    row = GraceRow.get_or_none(GraceRow.location == site.id)
    return DEFAULT_GRACE_MINUTES if row is None else row.minutes


def set_grace_minutes(account_id: int, location_id: int, minutes: int) -> int:
    """Set the site's grace minutes (0 to a day); returns them."""
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise Invalid("grace minutes must be a whole number", field="late_grace_minutes")
    check_range(minutes, "late_grace_minutes", 0, MAX_GRACE_MINUTES)
    with transaction():
        site = fetch(LocationRow, account_id, location_id, "Location")
        GraceRow.delete().where(GraceRow.location == site.id).execute()
        GraceRow.insert(location=site.id, minutes=minutes).execute()
        emit(account_id, "late_grace_changed", {"location_id": site.id, "minutes": minutes})
    return minutes


def _candidates(now: dt.datetime, account_id: int | None) -> list[Any]:
    """Assigned, scheduled shifts that have started and ended less than LOOKBACK ago."""
    query = (ShiftRow.select(ShiftRow.id, ShiftRow.account, ShiftRow.worker, ShiftRow.location,
                             ShiftRow.start, ShiftRow.end,
                             LocationRow.name.alias("location_name"),
                             fn.COALESCE(GraceRow.minutes, DEFAULT_GRACE_MINUTES).alias("grace"),
                             WorkerRow.first_name, WorkerRow.last_name)
             .join_from(ShiftRow, LocationRow)
             .join_from(ShiftRow, WorkerRow)
             .join_from(LocationRow, GraceRow, JOIN.LEFT_OUTER)
             .where((ShiftRow.status == "scheduled") & ShiftRow.worker.is_null(False)
                    & (ShiftRow.start <= now) & (ShiftRow.end > now - LOOKBACK))
             .order_by(ShiftRow.start, ShiftRow.id)
             .objects())
    if account_id is not None:
        query = query.where(ShiftRow.account == account_id)
    return list(query)


def _clocked_in(shifts: list[Any]) -> set[int]:
    """Ids of the shifts whose worker is, or was, there for them (see `_attends`)."""
    if not shifts:
        return set()
    entries = (EntryRow.select(EntryRow.worker, EntryRow.location, EntryRow.clock_in,
                               EntryRow.clock_out)
               .where(EntryRow.worker.in_({s.worker_id for s in shifts})
                      & (EntryRow.clock_in >= min(s.start for s in shifts) - ON_SITE_SINCE))
               .tuples())
    by_worker: dict[int, list[tuple[int, dt.datetime, dt.datetime | None]]] = {}
    for worker_id, location_id, clock_in, clock_out in entries:
        by_worker.setdefault(worker_id, []).append((location_id, clock_in, clock_out))
    return {s.id for s in shifts
            if any(location_id == s.location_id and _attends(s, clock_in, clock_out)
                   for location_id, clock_in, clock_out in by_worker.get(s.worker_id, ()))}


def _attends(shift: Any, clock_in: dt.datetime, clock_out: dt.datetime | None) -> bool:
    """Whether an entry at the shift's site has its worker there: clocked in from an hour
    before the start to the end, or still clocked in when the grace ran out (since at most
    a day: an entry open longer than that was left open, not worked)."""
    if shift.start - SHIFT_EARLY <= clock_in < shift.end:
        return True
    graced = shift.start + dt.timedelta(minutes=shift.grace)
    return (shift.start - ON_SITE_SINCE <= clock_in
            and (clock_out is None or clock_out > graced))


def _status(shift: Any, now: dt.datetime) -> str | None:
    if shift.end <= now:
        return "missed"
    if now - shift.start > dt.timedelta(minutes=shift.grace):
        return "late"
    return None


def _not_here(now: dt.datetime, account_id: int | None) -> list[tuple[Any, Expected]]:
    shifts = _candidates(now, account_id)
    here = _clocked_in(shifts)
    found = []
    for shift in shifts:
        status = _status(shift, now)
        if status is None or shift.id in here:
            continue
        found.append((shift, Expected(
            shift_id=shift.id, worker_id=shift.worker_id,
            worker_name=f"{shift.first_name} {shift.last_name}", location_id=shift.location_id,
            location_name=shift.location_name, starts_at=utc(shift.start),
            ends_at=utc(shift.end), status=status)))
    return found


def expected_not_here(account_id: int, now: dt.datetime | None = None) -> list[Expected]:
    """The account's shifts whose worker is late or missed them (ended within 12 h), by start."""
    return [expected for _, expected in _not_here(_naive(now), account_id)]


def _naive(now: dt.datetime | None) -> dt.datetime:
    if now is None:
        return utcnow()
    return now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now


def sweep(now: dt.datetime | None = None) -> int:
    """Fire `shift_late` / `shift_missed` for every shift now late or missed, once each;
    returns how many events were fired. A shift the host only sees after its end is
    announced as missed alone."""
    moment = _naive(now)
    found = _not_here(moment, None)
    if not found:
        return 0
    fired = 0
    with transaction():
        done = set(AlertRow.select(AlertRow.shift, AlertRow.kind)
                   .where(AlertRow.shift.in_([shift.id for shift, _ in found]))
                   .tuples())
        for shift, expected in found:
            if (shift.id, expected.status) in done:
                continue
            fired += _fire(shift.account_id, expected, moment)
    return fired


def _fire(account_id: int, expected: Expected, now: dt.datetime) -> int:
    """Record the alert and emit its event together; 0 if another sweep got there first."""
    try:
        with transaction():
            AlertRow.create(account=account_id, shift=expected.shift_id, kind=expected.status,
                            created_at=now)
            emit(account_id, EVENT_OF_STATUS[expected.status], expected)
    except IntegrityError:
        return 0
    return 1
