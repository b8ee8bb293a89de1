"""Locked time: what payroll has already seen can no longer be changed here.

A write to time entries (a manual entry, a correction, an import) is refused with
409 `period_locked` when any of these holds:

1. it changes an **approved** entry: return the entry to `completed` (or dispute
   it) first, so the approval is taken back on purpose, never by a side effect;
2. a **work date** it touches lies in an **exported pay period**: the work date of
   a new entry, or of a corrected entry before *and* after the correction (moving
   time out of an exported day changes that day's pay as much as moving it in).
   A pay period is exported when a payroll connector (capability
   `export_timesheets`) finished a run that was not a dry run and succeeded, and
   said which days it covered (`ConnectorContext.mark_exported`). The lock is
   account-wide: payroll exports every worker of the period. Days that had not
   begun anywhere when the run finished are not locked (an export of "this week"
   on a Wednesday locks up to Thursday, UTC, so every zone's today is covered):
   nothing of them was exported;
3. it puts time on a worker's **signed-off day**: a new entry, or an entry moved to
   another work date, on a date where the worker already has an approved entry.
   Correcting a not-yet-approved entry that stays on its day is allowed (approve
   the good entries, fix the rest).

A work date is the local date of the clock-in at the entry's location, as
everywhere else (an overnight shift belongs to the day it started). Live clocking
(`POST /clock`, the kiosk) is never refused by a lock: a worker can always clock out,
and payroll exports report entries still open when they ran.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec

from tempclock.api.services.common import utcnow
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.store.models import ExportedPeriod as ExportedPeriodRow
from tempclock.api.store.models import TimeEntry as TimeEntryRow

LOCKED = "period_locked"


class ExportedPeriod(msgspec.Struct, kw_only=True):
    """Days a payroll connector exported, both inclusive."""

    date_from: dt.date
    date_to: dt.date


def _day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def check_period(date_from: object, date_to: object) -> ExportedPeriod:
    """The period [date_from, date_to] checked: two dates, the first not after the last."""
    if not (isinstance(date_from, dt.date) and isinstance(date_to, dt.date)):
        raise Invalid("An exported period needs two dates", field="date_from")
    if isinstance(date_from, dt.datetime) or isinstance(date_to, dt.datetime):
        raise Invalid("An exported period is given by dates, not times", field="date_from")
    if date_to < date_from:
        raise Invalid("The exported period's last day is before its first day",
                      field="date_to")
    return ExportedPeriod(date_from=date_from, date_to=date_to)


def record_exported(account_id: int, connector_id: str, run_id: int | None,
                    periods: Iterable[ExportedPeriod]) -> None:
    """Keep the periods a payroll run exported (call inside the run's closing transaction)."""
    last_begun = utcnow().date() + dt.timedelta(days=1)  # today somewhere east of UTC
    rows = [{"account": account_id, "connector": connector_id, "run": run_id,
             "date_from": p.date_from, "date_to": min(p.date_to, last_begun)}
            for p in periods if p.date_from <= last_begun]
    if rows:
        ExportedPeriodRow.insert_many(rows).execute()


def exported_periods(account_id: int) -> list[ExportedPeriod]:
    """Every period the account has exported to payroll, earliest first."""
    rows = (ExportedPeriodRow.select(ExportedPeriodRow.date_from, ExportedPeriodRow.date_to)
            .where(ExportedPeriodRow.account == account_id)
            .order_by(ExportedPeriodRow.date_from, ExportedPeriodRow.id))
    return [ExportedPeriod(date_from=r.date_from, date_to=r.date_to) for r in rows]


def refuse_approved(entry_id: int, status: str) -> None:
    """Rule 1: an approved entry is not changed."""
    if status == "approved":
        raise Conflict(f"Time entry {entry_id} is approved, so it is locked; dispute it "
                       "first (Timesheets panel) if it needs correcting",
                       code=LOCKED, entry_id=entry_id)


def refuse_exported(account_id: int, work_dates: Iterable[dt.date]) -> None:
    """Rule 2: no work date in a pay period the account has exported."""
    for day in sorted(set(work_dates)):
        period = (ExportedPeriodRow.select(ExportedPeriodRow.date_from, ExportedPeriodRow.date_to)
                  .where((ExportedPeriodRow.account == account_id)
                         & (ExportedPeriodRow.date_from <= day)
                         & (ExportedPeriodRow.date_to >= day))
                  .first())
        if period is not None:
            raise Conflict(
                f"{_day(day)} is in the pay period {_day(period.date_from)} to "
                f"{_day(period.date_to)}, already exported to payroll, so its time is "
                "locked; make the change in payroll instead",
                code=LOCKED, work_date=day.isoformat(),
                date_from=period.date_from.isoformat(), date_to=period.date_to.isoformat())


def refuse_signed_off_day(worker_id: int, work_date: dt.date, *,
                          exclude: int | None = None) -> None:
    """Rule 3: no new time on a day where the worker already has an approved entry."""
    query = TimeEntryRow.select(TimeEntryRow.id).where(
        (TimeEntryRow.worker == worker_id) & (TimeEntryRow.work_date == work_date)
        & (TimeEntryRow.status == "approved"))
    if exclude is not None:
        query = query.where(TimeEntryRow.id != exclude)
    approved = query.first()
    if approved is not None:
        raise Conflict(
            f"Worker {worker_id} already has approved time on {_day(work_date)} (entry "
            f"{approved.id}), so that day is locked; dispute that entry first to add time to it",
            code=LOCKED, entry_id=approved.id, work_date=work_date.isoformat())
