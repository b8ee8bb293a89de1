"""Payroll export (CSV): one line per worker per day, totals, rounding, overnight shifts."""

from __future__ import annotations

import csv
import datetime as dt

import pytest

from api.services import clocking, connectors, cost_codes, timesheets
from plugins.payroll_csv import PayrollCsvExport, pay_period, rounded_minutes

PAYROLL = PayrollCsvExport()
# A fortnight in March 2026, well in the past; the site is in London (GMT then).
FIRST, LAST = dt.date(2026, 3, 2), dt.date(2026, 3, 15)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def export(account, tmp_path, dry_run=False, **settings):
    settings = {"period": "custom", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat(),
                "output_dir": str(tmp_path / "out"), **settings}
    return connectors.run_connector(account.id, PAYROLL, overrides=settings, dry_run=dry_run)


def read(tmp_path, suffix: str = "") -> list[dict[str, str]]:
    path = tmp_path / "out" / f"payroll_{FIRST}_{LAST}{suffix}.csv"
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def codes(account):
    pick = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="PICK",
                                                                              name="Picking"))
    pack = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="PACK",
                                                                              name="Packing"))
    return pick.id, pack.id


def test_a_day_of_work_becomes_one_line_with_hours_and_breaks(account, site, worker, tmp_path,
                                                              codes):
    pick, _ = codes
    clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 14, 30),
                          breaks=[(at(3, 10), at(3, 10, 30))], cost_code_id=pick)
    result = export(account, tmp_path)
    assert result.status == "succeeded"
    (line,) = read(tmp_path)
    assert line == {"employee_ref": worker.employee_ref, "worker": "Ann Nowak",
                    "date": "2026-03-03", "department": "", "cost_code": "PICK",
                    "locations": site.name, "entries": "1", "first_in": "06:00",
                    "last_out": "14:30", "break_minutes": "30", "hours": "8.00"}


def test_an_overnight_shift_is_paid_on_the_day_it_started(account, site, worker, tmp_path):
    # Started on the last day of the period: counted, though it ends the day after.
    clocking.record_entry(account.id, worker.id, site.id, at(15, 22), at(16, 6))
    # Started the evening before the period: belongs to the previous period.
    clocking.record_entry(account.id, worker.id, site.id, at(1, 22), at(2, 6))
    export(account, tmp_path)
    assert [(line["date"], line["hours"]) for line in read(tmp_path)] == [("2026-03-15", "8.00")]


def test_two_entries_on_a_day_share_a_line_and_totals_add_up(account, site, worker,
                                                             make_worker, tmp_path, codes):
    pick, pack = codes
    clocking.record_entry(account.id, worker.id, site.id, at(4, 6), at(4, 10), cost_code_id=pick)
    clocking.record_entry(account.id, worker.id, site.id, at(4, 11), at(4, 13), cost_code_id=pick)
    clocking.record_entry(account.id, worker.id, site.id, at(5, 6), at(5, 9), cost_code_id=pack)
    bob = make_worker(account.id, "Bob", "Smith", location_id=site.id)
    clocking.record_entry(account.id, bob.id, site.id, at(4, 6), at(4, 12), cost_code_id=pack)
    export(account, tmp_path)
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


def test_only_completed_and_approved_time_is_paid_by_default(account, site, worker, tmp_path):
    kept = clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 10))
    disputed = clocking.record_entry(account.id, worker.id, site.id, at(4, 6), at(4, 10))
    timesheets.set_entry_status(account.id, kept.id, "approved")
    timesheets.set_entry_status(account.id, disputed.id, "disputed")
    export(account, tmp_path)
    assert [line["date"] for line in read(tmp_path)] == ["2026-03-03"]
    export(account, tmp_path, statuses="approved")
    assert [line["date"] for line in read(tmp_path)] == ["2026-03-03"]


def test_each_days_time_is_rounded_as_set(account, site, worker, tmp_path):
    clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 13, 52))
    export(account, tmp_path, rounding_minutes="15", rounding_mode="nearest")
    assert read(tmp_path)[0]["hours"] == "7.75"
    export(account, tmp_path, rounding_minutes="15", rounding_mode="up")
    assert read(tmp_path)[0]["hours"] == "8.00"


def test_a_dry_run_writes_no_files(account, site, worker, tmp_path):
    clocking.record_entry(account.id, worker.id, site.id, at(3, 6), at(3, 10))
    result = export(account, tmp_path, dry_run=True)
    assert result.counts["lines"] == 1
    assert not (tmp_path / "out").exists()


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
