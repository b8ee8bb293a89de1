"""Payroll export (CSV): a pay period's time as one row per worker per day, with totals.

An entry counts on the local date, at its location, on which it was clocked in, so an
overnight shift is paid on the day it started and never split or lost. Its hours are
the real time from clocking in to clocking out less its breaks: a night across a clock
change is paid for the hours actually worked (8 on the spring-forward night of a
22:00-07:00 shift, 10 on the fall-back night), while `first_in` and `last_out` show
the site's wall clock.

Three files are written: the daily lines, totals per worker, totals per cost code.
Entries of the period that are not paid (still clocked in, disputed, or of a status
the admin did not choose to pay) are each reported for the admin's attention: until
they are dealt with, the export is incomplete.

A run, step by step, one function each:

1. `pay_period`: the period's first and last day, from the settings;
2. `read_period`: its entries, paid ones grouped into `DailyLine`s, the rest kept aside;
3. `PayrollTotals.of`: each day's rounded hours, totals per worker and per cost code;
4. `report_not_paid`: every entry left out, as a "needs attention" message;
5. `write_files`: the three spreadsheet-safe CSV files.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tempclock.plugins import Connector, ConnectorContext, Setting, hookimpl

__version__ = "1.1.0"

PERIODS = ("last_week", "this_week", "last_fortnight", "last_month", "this_month", "custom")
ROUNDING = ("0", "5", "6", "10", "15", "30")
PAYABLE = ("completed", "approved")
EVERY_STATUS = ("open", "completed", "approved", "disputed")
PROGRESS_EVERY = 2000  # entries between progress reports and cancellation checks

DAILY_COLUMNS = ("employee_ref", "worker", "date", "department", "cost_code", "locations",
                 "entries", "first_in", "last_out", "break_minutes", "hours")
WORKER_COLUMNS = ("employee_ref", "worker", "days", "break_minutes", "hours")
COST_CODE_COLUMNS = ("cost_code", "workers", "hours")


def pay_period(period: str, today: dt.date, *, week_starts: str = "monday",
               date_from: dt.date | None = None,
               date_to: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The first and last day (inclusive) of a pay period."""
    if period == "custom":
        if date_from is None or date_to is None:
            raise ValueError("A custom period needs both a first and a last day")
        if date_to < date_from:
            raise ValueError("The period's last day is before its first day")
        return date_from, date_to
    first_weekday = 0 if week_starts == "monday" else 6
    week_start = today - dt.timedelta(days=(today.weekday() - first_weekday) % 7)
    if period == "this_week":
        return week_start, week_start + dt.timedelta(days=6)
    if period == "last_week":
        return week_start - dt.timedelta(days=7), week_start - dt.timedelta(days=1)
    if period == "last_fortnight":
        return week_start - dt.timedelta(days=14), week_start - dt.timedelta(days=1)
    month_start = today.replace(day=1)
    if period == "this_month":
        next_month = (month_start + dt.timedelta(days=32)).replace(day=1)
        return month_start, next_month - dt.timedelta(days=1)
    if period == "last_month":
        last_day = month_start - dt.timedelta(days=1)
        return last_day.replace(day=1), last_day
    raise ValueError(f"Unknown period {period!r}")


def rounded_minutes(minutes: float, step: int, mode: str) -> int:
    """Minutes rounded to `step` (0 = to the whole minute), `up`, `down` or to the
    `nearest` (a half up, as payroll does: never to the even neighbour).

    Exact for whole seconds: `seconds / 60 / step` is a float with no rounding error
    wherever the result is a whole or a half.
    """
    step = max(step, 1)
    units = minutes / step
    if mode == "up":
        return math.ceil(units) * step
    if mode == "down":
        return math.floor(units) * step
    return math.floor(units + 0.5) * step


def local_time(moment: dt.datetime, tz: ZoneInfo) -> str:
    """`2027-03-28 07:00 BST`: a moment on the wall clock of a site, with its zone's name."""
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def worked_seconds(entry: dict[str, Any]) -> tuple[int, int]:
    """A closed entry's (worked, break) seconds, in real elapsed time.

    Measured from the timestamps (aware UTC), not from the rounded `total_hours`,
    so many short entries add up to the minute and a clock change is neither paid
    nor docked.
    """
    clock_out = entry["clock_out"]
    breaks = sum(int(((b["end"] or clock_out) - b["start"]).total_seconds())
                 for b in entry["breaks"]) if entry["breaks"] else 0
    if round(breaks / 60) != entry["break_minutes"]:  # a break known only by its length
        breaks = entry["break_minutes"] * 60
    return int((clock_out - entry["clock_in"]).total_seconds()) - breaks, breaks


LineKey = tuple[int, dt.date, str, str]  # worker id, date, cost code, department


def _hours(minutes: int) -> str:
    return f"{minutes / 60:.2f}"


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


@dataclass(slots=True)
class DailyLine:
    """One worker's paid time on one local date, under one department and cost code."""

    worker_id: int
    employee_ref: str
    worker: str
    date: dt.date
    department: str
    cost_code: str
    locations: set[str] = field(default_factory=set)
    entries: int = 0
    first_in: dt.datetime | None = None  # on the wall clock of the entry's site
    last_out: dt.datetime | None = None
    break_seconds: int = 0
    worked_seconds: int = 0
    minutes: int = 0  # the worked time once rounded (set by `PayrollTotals.of`)

    @staticmethod
    def key(entry: dict[str, Any]) -> LineKey:
        """Which line an entry belongs to."""
        return (entry["worker_id"], entry["work_date"], entry["cost_code"] or "",
                entry["department"] or "")

    @classmethod
    def start(cls, entry: dict[str, Any]) -> DailyLine:
        """An empty line for the worker, day, department and cost code of `entry`."""
        return cls(worker_id=entry["worker_id"], employee_ref=entry["employee_ref"] or "",
                   worker=entry["worker_name"], date=entry["work_date"],
                   department=entry["department"] or "", cost_code=entry["cost_code"] or "")

    def add(self, entry: dict[str, Any], tz: ZoneInfo) -> None:
        """Add a closed entry, its clock times read at its site (`tz`)."""
        clock_in, clock_out = entry["clock_in"], entry["clock_out"]
        worked, breaks = worked_seconds(entry)
        self.locations.add(entry["location_name"])
        self.entries += 1
        if self.first_in is None or clock_in < self.first_in:
            self.first_in = clock_in.astimezone(tz)
        if self.last_out is None or clock_out > self.last_out:
            self.last_out = clock_out.astimezone(tz)
        self.break_seconds += breaks
        self.worked_seconds += worked

    @property
    def break_minutes(self) -> int:
        return round(self.break_seconds / 60)

    def sort_key(self) -> tuple[str, str, dt.date, str]:
        return (self.worker, self.employee_ref, self.date, self.cost_code)

    def row(self) -> list[Any]:
        return [self.employee_ref, self.worker, self.date.isoformat(), self.department,
                self.cost_code, "; ".join(sorted(self.locations)), self.entries,
                _hhmm(self.first_in), _hhmm(self.last_out), self.break_minutes,
                _hours(self.minutes)]


@dataclass(frozen=True, slots=True)
class NotPaid:
    """An entry of the period left out of the export, and why."""

    entry: dict[str, Any]
    tz: ZoneInfo

    def message(self, paid: tuple[str, ...]) -> str:
        """What the admin reads: who, where, when (site time) and why it is not paid."""
        entry = self.entry
        ref = entry["employee_ref"]
        who = f"{entry['worker_name']} ({ref})" if ref else entry["worker_name"]
        clock_in = local_time(entry["clock_in"], self.tz)
        if entry["clock_out"] is None:
            return (f"{who} at {entry['location_name']}: clocked in {clock_in} and not "
                    "clocked out, so not paid")
        return (f"{who} at {entry['location_name']}: {clock_in} to "
                f"{local_time(entry['clock_out'], self.tz)} is {entry['status']}, so not paid "
                f"(this export pays {' and '.join(paid) or 'no'} time)")

    def sort_key(self) -> tuple[str, dt.datetime]:
        return (self.entry["worker_name"], self.entry["clock_in"])


@dataclass(slots=True)
class PeriodTime:
    """A pay period's entries: the paid ones as daily lines, the others set aside."""

    paid_statuses: tuple[str, ...]
    lines: dict[LineKey, DailyLine] = field(default_factory=dict)
    not_paid: list[NotPaid] = field(default_factory=list)
    paid_entries: int = 0

    def add(self, entry: dict[str, Any], tz: ZoneInfo) -> None:
        """Pay a closed entry of a chosen status on its line; set any other aside."""
        if entry["clock_out"] is None or entry["status"] not in self.paid_statuses:
            self.not_paid.append(NotPaid(entry, tz))
            return
        key = DailyLine.key(entry)
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = DailyLine.start(entry)
        line.add(entry, tz)
        self.paid_entries += 1

    @property
    def still_open(self) -> int:
        return sum(1 for item in self.not_paid if item.entry["clock_out"] is None)


def read_period(context: ConnectorContext, first: dt.date, last: dt.date,
                paid_statuses: tuple[str, ...]) -> PeriodTime:
    """Every entry clocked in (site date) from `first` to `last`, sorted into paid and not."""
    zones = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in context.locations()}
    period = PeriodTime(paid_statuses)
    for n, entry in enumerate(context.time_entries(first, last, statuses=EVERY_STATUS),
                              start=1):
        if n % PROGRESS_EVERY == 0:
            context.check_cancelled()
            context.progress(n, None, f"{n:,} entries read")
        period.add(entry, zones[entry["location_id"]])
    return period


@dataclass(slots=True)
class WorkerTotal:
    """A worker's days, breaks and paid minutes over the period."""

    employee_ref: str
    worker: str
    days: set[dt.date] = field(default_factory=set)
    break_minutes: int = 0
    minutes: int = 0

    def row(self) -> list[Any]:
        return [self.employee_ref, self.worker, len(self.days), self.break_minutes,
                _hours(self.minutes)]


@dataclass(slots=True)
class CostCodeTotal:
    """The workers and paid minutes booked to a cost code over the period."""

    cost_code: str
    workers: set[int] = field(default_factory=set)
    minutes: int = 0

    def row(self) -> list[Any]:
        return [self.cost_code or "(none)", len(self.workers), _hours(self.minutes)]


@dataclass(frozen=True, slots=True)
class PayrollTotals:
    """The daily lines in file order, each with its rounded minutes, and their totals."""

    lines: list[DailyLine]
    workers: list[WorkerTotal]
    cost_codes: list[CostCodeTotal]

    @classmethod
    def of(cls, lines: list[DailyLine], step: int, mode: str) -> PayrollTotals:
        """Round each line's time (to `step` minutes, `mode`) and add the lines up.

        Totals add the rounded lines, so they always match the daily file.
        """
        workers: dict[int, WorkerTotal] = {}
        codes: dict[str, CostCodeTotal] = {}
        ordered = sorted(lines, key=DailyLine.sort_key)
        for line in ordered:
            line.minutes = rounded_minutes(line.worked_seconds / 60, step, mode)
            worker = workers.get(line.worker_id)
            if worker is None:
                worker = workers[line.worker_id] = WorkerTotal(line.employee_ref, line.worker)
            worker.days.add(line.date)
            worker.break_minutes += line.break_minutes
            worker.minutes += line.minutes
            code = codes.setdefault(line.cost_code, CostCodeTotal(line.cost_code))
            code.workers.add(line.worker_id)
            code.minutes += line.minutes
        return cls(
            lines=ordered,
            workers=sorted(workers.values(), key=lambda t: (t.worker, t.employee_ref)),
            cost_codes=sorted(codes.values(), key=lambda t: t.cost_code),
        )


def report_not_paid(context: ConnectorContext, period: PeriodTime, first: dt.date,
                    last: dt.date) -> None:
    """Tell the admin, entry by entry, what the export leaves out and why."""
    context.count("open_entries", period.still_open)
    context.count("excluded_entries", len(period.not_paid) - period.still_open)
    if not period.not_paid:
        return
    many = len(period.not_paid) != 1
    context.log(f"The export for {first} to {last} is incomplete: {len(period.not_paid):,} "
                f"{'entries are' if many else 'entry is'} not paid "
                f"({period.still_open:,} still clocked in)", level="warning")
    for item in sorted(period.not_paid, key=NotPaid.sort_key):
        context.needs_attention(item.message(period.paid_statuses))


def write_files(context: ConnectorContext, folder: Path, first: dt.date, last: dt.date,
                totals: PayrollTotals) -> None:
    """The daily lines, worker totals and cost code totals, as three CSV files in `folder`.

    A relative `folder` is under the context's export folder; in a dry run nothing is
    written and the log says what would be.
    """
    stem = folder / f"payroll_{first}_{last}"
    context.write_csv(f"{stem}.csv", DAILY_COLUMNS, (line.row() for line in totals.lines))
    context.write_csv(f"{stem}_workers.csv", WORKER_COLUMNS,
                      (total.row() for total in totals.workers))
    context.write_csv(f"{stem}_cost_codes.csv", COST_CODE_COLUMNS,
                      (total.row() for total in totals.cost_codes))


class PayrollCsvExport(Connector):
    id = "payroll-csv"
    name = "Payroll export (CSV)"
    kind = "payroll"
    version = __version__
    description = ("Writes a pay period's completed and approved time as CSV: one line per "
                   "worker per day, with totals per worker and per cost code. Entries still "
                   "open or disputed are listed as needing attention.")
    capabilities = frozenset({"export_timesheets"})
    settings = (
        Setting("period", "Pay period", type="choice", default="last_week", choices=PERIODS),
        Setting("date_from", "First day (custom period)", type="date"),
        Setting("date_to", "Last day (custom period)", type="date"),
        Setting("week_starts", "Weeks start on", type="choice", default="monday",
                choices=("monday", "sunday")),
        Setting("statuses", "Entries to include", type="multichoice",
                default=list(PAYABLE), choices=PAYABLE),
        Setting("rounding_minutes", "Round each day's time to (minutes)", type="choice",
                default="0", choices=ROUNDING, help="0: to the whole minute."),
        Setting("rounding_mode", "Rounding", type="choice", default="nearest",
                choices=("nearest", "up", "down")),
        Setting("output_dir", "Save files in", type="path", default="",
                help="Default: the exports folder in TempClock's data directory."),
    )

    def run(self, context: ConnectorContext) -> None:
        """Export the pay period: read it, total it, report what is left out, write files."""
        s = context.settings
        first, last = pay_period(s["period"], dt.date.today(), week_starts=s["week_starts"],
                                 date_from=s.get("date_from"), date_to=s.get("date_to"))
        context.log(f"Pay period {first} to {last}")
        period = read_period(context, first, last, tuple(s["statuses"]))
        totals = PayrollTotals.of(list(period.lines.values()), int(s["rounding_minutes"]),
                                  s["rounding_mode"])
        context.check_cancelled()
        report_not_paid(context, period, first, last)
        write_files(context, Path(s["output_dir"] or ""), first, last, totals)
        context.count("entries", period.paid_entries)
        context.count("lines", len(totals.lines))
        context.count("workers", len(totals.workers))
        context.mark_exported(first, last)  # the host locks the period if the run succeeds


@hookimpl
def register_connectors(register):
    register(PayrollCsvExport())
