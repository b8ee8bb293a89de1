"""The demo agency: realistic, and the same every time for the same account."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from api.services import accounts, demo, locations, shifts, timesheets, workers
from api.services.timesheets import TimeEntryFilter


def test_demo_data_is_a_realistic_agency_with_overnight_shifts(account):
    summary = demo.load_demo(account.id)
    assert summary.workers >= 60
    sites = locations.list_locations(account.id).data
    assert len({s.timezone for s in sites}) >= 4
    assert len({s.city for s in sites}) == len(sites)
    entries = timesheets.list_entries(account.id, TimeEntryFilter(entry_filter="all", limit=100))
    assert entries.pagination.total == summary.time_entries
    open_now = timesheets.list_entries(account.id, TimeEntryFilter(entry_filter="active"))
    assert 0 < open_now.pagination.total == summary.open_entries
    with_breaks = timesheets.list_entries(account.id, TimeEntryFilter(entry_filter="breaks"))
    assert with_breaks.pagination.total > 0
    assert workers.list_workers(account.id, workers.WorkerFilter(active=False)).pagination.total
    zones = {s.id: ZoneInfo(s.timezone) for s in sites}
    overnight = [
        s for s in shifts.list_shifts(account.id, shifts.ShiftFilter(limit=100)).data
        if s.start.astimezone(zones[s.location_id]).date()
        != s.end.astimezone(zones[s.location_id]).date()
    ]
    assert overnight


# Seeded in Python, so the same on every store; the test above loads it on PostgreSQL too.
@pytest.mark.sqlite_only
def test_demo_is_the_same_agency_every_time(store):
    def load(name):
        account = accounts.create_account(name)
        summary = demo.load_demo(account.id)
        people = workers.list_workers(account.id, workers.WorkerFilter(limit=100)).data
        return summary, [(w.first_name, w.last_name, w.employee_ref, w.location_name)
                         for w in people]

    assert load("First office") == load("Second office")
