"""Payroll export (CSV): a pay period's time as one row per worker per day, with totals.

An entry counts on the local date, at its location, on which it was clocked in,
so an overnight shift is paid on the day it started and never split or lost.
Three files are written: the daily lines, totals per worker, totals per cost code.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from plugins import Connector, ConnectorContext, Setting, hookimpl

__version__ = "1.0.0"

PERIODS = ("last_week", "this_week", "last_fortnight", "last_month", "this_month", "custom")
ROUNDING = ("0", "5", "6", "10", "15", "30")


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
    """Minutes rounded to `step` (0 = to the whole minute), `nearest`, `up` or `down`."""
    if step <= 0:
        return round(minutes)
    units = minutes / step
    units = {"up": math.ceil, "down": math.floor}.get(mode, round)(units)
    return int(units * step)


class PayrollCsvExport(Connector):
    id = "payroll-csv"
    name = "Payroll export (CSV)"
    kind = "payroll"
    version = __version__
    description = ("Writes a pay period's completed and approved time as CSV: one line per "
                   "worker per day, with totals per worker and per cost code.")
    capabilities = frozenset({"export_timesheets"})
    settings = (
        Setting("period", "Pay period", type="choice", default="last_week", choices=PERIODS),
        Setting("date_from", "First day (custom period)", type="date"),
        Setting("date_to", "Last day (custom period)", type="date"),
        Setting("week_starts", "Weeks start on", type="choice", default="monday",
                choices=("monday", "sunday")),
        Setting("statuses", "Entries to include", type="multichoice",
                default=["completed", "approved"], choices=("completed", "approved")),
        Setting("rounding_minutes", "Round each day's time to (minutes)", type="choice",
                default="0", choices=ROUNDING, help="0 keeps whole minutes."),
        Setting("rounding_mode", "Rounding", type="choice", default="nearest",
                choices=("nearest", "up", "down")),
        Setting("output_dir", "Save files in", type="path", default="",
                help="Default: the exports folder in TempClock's data directory."),
    )

    def run(self, context: ConnectorContext) -> None:
        s = context.settings
        first, last = pay_period(s["period"], dt.date.today(), week_starts=s["week_starts"],
                                 date_from=s.get("date_from"), date_to=s.get("date_to"))
        step, mode = int(s["rounding_minutes"]), s["rounding_mode"]
        zones = {loc["id"]: ZoneInfo(loc["timezone"]) for loc in context.locations()}
        context.log(f"Pay period {first} to {last}")

        days: dict[tuple, dict[str, Any]] = {}
        for n, entry in enumerate(context.time_entries(first, last, statuses=s["statuses"]),
                                  start=1):
            if n % 2000 == 0:
                context.check_cancelled()
                context.progress(n, None, f"{n} entries read")
            key = (entry["worker_id"], entry["work_date"], entry["cost_code"] or "",
                   entry["department"] or "")
            tz = zones[entry["location_id"]]
            line = days.get(key)
            if line is None:
                line = days[key] = {
                    "employee_ref": entry["employee_ref"] or "",
                    "worker": entry["worker_name"], "date": entry["work_date"],
                    "department": entry["department"] or "", "cost_code": entry["cost_code"] or "",
                    "locations": set(), "entries": 0, "first_in": None, "last_out": None,
                    "break_minutes": 0, "worked_seconds": 0,
                }
            clock_in = entry["clock_in"].astimezone(tz)
            clock_out = entry["clock_out"].astimezone(tz)
            line["locations"].add(entry["location_name"])
            line["entries"] += 1
            if line["first_in"] is None or clock_in < line["first_in"]:
                line["first_in"] = clock_in
            if line["last_out"] is None or clock_out > line["last_out"]:
                line["last_out"] = clock_out
            line["break_minutes"] += entry["break_minutes"]
            line["worked_seconds"] += round((entry["total_hours"] or 0) * 3600)
            context.count("entries")

        out_dir = Path(s["output_dir"] or context.export_dir).expanduser()
        stem = f"payroll_{first}_{last}"
        lines = sorted(days.values(), key=lambda d: (d["worker"], d["employee_ref"], d["date"],
                                                     d["cost_code"]))
        workers: dict[tuple, dict[str, Any]] = defaultdict(
            lambda: {"days": set(), "minutes": 0, "break_minutes": 0})
        codes: dict[str, dict[str, Any]] = defaultdict(lambda: {"minutes": 0, "workers": set()})
        rows = []
        for d in lines:
            minutes = rounded_minutes(d["worked_seconds"] / 60, step, mode)
            who = (d["employee_ref"], d["worker"])
            workers[who]["days"].add(d["date"])
            workers[who]["minutes"] += minutes
            workers[who]["break_minutes"] += d["break_minutes"]
            codes[d["cost_code"]]["minutes"] += minutes
            codes[d["cost_code"]]["workers"].add(who)
            rows.append([d["employee_ref"], d["worker"], d["date"].isoformat(), d["department"],
                         d["cost_code"], "; ".join(sorted(d["locations"])), d["entries"],
                         _hhmm(d["first_in"]), _hhmm(d["last_out"]),
                         d["break_minutes"], f"{minutes / 60:.2f}"])
        context.check_cancelled()
        if context.dry_run:
            context.log(f"Dry run: would write {len(rows)} daily lines for {len(workers)} "
                        f"workers to {out_dir / stem}.csv")
        else:
            out_dir.mkdir(parents=True, exist_ok=True)
            _write(out_dir / f"{stem}.csv",
                   ["employee_ref", "worker", "date", "department", "cost_code", "locations",
                    "entries", "first_in", "last_out", "break_minutes", "hours"], rows)
            _write(out_dir / f"{stem}_workers.csv",
                   ["employee_ref", "worker", "days", "break_minutes", "hours"],
                   [[ref, name, len(t["days"]), t["break_minutes"], f"{t['minutes'] / 60:.2f}"]
                    for (ref, name), t in sorted(workers.items(), key=lambda i: i[0][1])])
            _write(out_dir / f"{stem}_cost_codes.csv", ["cost_code", "workers", "hours"],
                   [[code or "(none)", len(t["workers"]), f"{t['minutes'] / 60:.2f}"]
                    for code, t in sorted(codes.items())])
            context.log(f"Wrote {out_dir / stem}.csv and its worker and cost code totals")
        context.count("lines", len(rows))
        context.count("workers", len(workers))
        context.mark_exported(first, last)  # the host locks the period if the run succeeds


def _hhmm(moment: dt.datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    tmp = path.with_suffix(".csv.part")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    tmp.replace(path)  # a half-written file never sits where payroll will look


@hookimpl
def register_connectors(register):
    register(PayrollCsvExport())
