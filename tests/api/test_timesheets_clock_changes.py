"""Timesheet totals across the clock changes: hours really worked, per worker and in all,
with each night on the local date it was clocked in."""

from __future__ import annotations

import datetime as dt

import pytest
from clock_changes import NIGHTS, needs_faketime, night_workers

from tempclock.api.services import timesheets
from tempclock.api.services.timesheets import TimeEntryFilter

pytestmark = needs_faketime


@pytest.fixture
def nights(config, account, make_location, make_worker):
    return night_workers(config, account, make_location, make_worker)


def test_totals_by_worker_count_eight_and_ten_hour_nights(account, nights):
    totals = timesheets.timesheet_totals(account.id, TimeEntryFilter(
        date_from=dt.date(2027, 1, 1), date_to=dt.date(2027, 12, 31)))
    assert totals.entries == 4 and totals.total_hours == 36.0
    assert {(w.worker_name, w.entries, w.total_hours) for w in totals.workers} == {
        ("Ann Nowak", 2, 18.0), ("Dana Price", 2, 18.0)}


@pytest.mark.parametrize("night", NIGHTS, ids=[f"{n.zone} {n.clocked_in_on}" for n in NIGHTS])
def test_a_night_is_totalled_on_its_clock_in_date_only(account, nights, night):
    worker_id, _ = nights[night.zone]
    day = night.clocked_in_on

    def totals_on(date: dt.date) -> timesheets.TimesheetTotals:
        return timesheets.timesheet_totals(account.id, TimeEntryFilter(
            worker_id=worker_id, date_from=date, date_to=date))

    assert (totals_on(day).entries, totals_on(day).total_hours) == (1, night.hours)
    assert totals_on(day + dt.timedelta(days=1)).entries == 0
    (entry,) = timesheets.list_entries(account.id, TimeEntryFilter(
        worker_id=worker_id, date_from=day, date_to=day)).data
    assert entry.total_hours == night.hours and entry.work_date == day
