"""The demo agency: realistic, and the same every time for the same account."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from zoneinfo import ZoneInfo

import pytest
import store_backends
from untraced import untraced

from tempclock.api.config import load_config
from tempclock.api.services import accounts, demo, locations, shifts, timesheets, workers
from tempclock.api.services.timesheets import TimeEntryFilter
from tempclock.api.store import close_store, open_store
from tempclock_desktop.choices import every


@pytest.fixture(scope="module")
def loaded_demo(backend, tmp_path_factory):
    """A demo agency loaded once per backend (seconds of CPU), for the tests that only read it."""
    with pytest.MonkeyPatch.context() as monkeypatch, \
            store_backends.database_for(backend, monkeypatch):
        config = load_config(tmp_path_factory.mktemp("demo") / "data")
        open_store(config)
        try:
            account = accounts.create_account("Acme Staffing", api_enabled=True)
            summary = demo.load_demo(account.id)
        finally:
            close_store()
        yield config, account, summary


@pytest.fixture
def demo_agency(loaded_demo):
    """The loaded demo agency, its store open for the test: (account, what the load said)."""
    config, account, summary = loaded_demo
    open_store(config)
    yield account, summary
    close_store()


def test_demo_data_is_a_realistic_agency_with_overnight_shifts(demo_agency):
    account, summary = demo_agency
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
# The first load is the module's SQLite one: a second account of that store loads it again.
@pytest.mark.sqlite_only
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="module")
def test_demo_is_the_same_agency_every_time(demo_agency):
    def loaded(account, summary):
        people = workers.list_workers(account.id, workers.WorkerFilter(limit=100)).data
        return summary, [(w.first_name, w.last_name, w.employee_ref, w.location_name)
                         for w in people]

    second = accounts.create_account("Second office")
    assert loaded(*demo_agency) == loaded(second, demo.load_demo(second.id))


def test_demo_workers_have_distinct_names_and_shifts_fill_the_current_week(demo_agency):
    account, _ = demo_agency
    people = workers.list_workers(account.id, workers.WorkerFilter(limit=100)).data
    names = [(w.first_name, w.last_name) for w in people]
    assert len(names) == demo.WORKERS
    assert len(set(names)) == len(names)
    sites = {s.id: ZoneInfo(s.timezone) for s in locations.list_locations(account.id).data}
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    week = {monday + dt.timedelta(days=n) for n in range(7)}
    days = {s.start.astimezone(sites[s.location_id]).date()
            for s in every(shifts.list_shifts, account.id, shifts.ShiftFilter)}
    assert week <= days
    worked = {e.work_date for e in timesheets.iter_entries(
        account.id, TimeEntryFilter(date_from=monday, date_to=today))}
    assert {day for day in week if day < today} <= worked


# --- at other dates: libfaketime runs the loader with the clock at a chosen instant -------

FAKETIME = shutil.which("faketime")
needs_faketime = pytest.mark.skipif(FAKETIME is None, reason="libfaketime is not installed "
                                    "(apt-get install faketime; .ci/run installs it)")

# Around each clock change of 2027: Europe (London, Dublin, Warsaw, Bucharest, Vilnius: the
# demo's zones) on 28 March and 31 October, the United States on 14 March and 7 November.
# The demo spans the two weeks before, so the days after a change hold a night across it.
CLOCK_CHANGE_INSTANTS = [
    "2027-03-28 01:30:00", "2027-03-29 12:00:00", "2027-04-04 21:00:00",
    "2027-10-31 01:30:00", "2027-11-03 12:00:00",
    "2027-03-14 07:30:00", "2027-11-09 12:00:00",
]

# Loads the demo into a fresh account at each instant given, in one process: with
# FAKETIME_NO_CACHE libfaketime reads FAKETIME again at every clock call.
LOAD_AT_INSTANTS = """
import datetime as dt, json, os, sys
from pathlib import Path
from zoneinfo import ZoneInfo
from tempclock.api.config import load_config
from tempclock.api.services import accounts, demo, locations, shifts, timesheets
from tempclock.api.store import open_store
from tempclock_desktop.choices import every

open_store(load_config(Path(sys.argv[1])))
for n, instant in enumerate(sys.argv[2:]):
    os.environ["FAKETIME"] = "@" + instant
    account = accounts.create_account(f"Demo {n}")
    try:
        summary = demo.load_demo(account.id)
    except Exception as error:
        print(json.dumps({"instant": instant, "error": f"{type(error).__name__}: {error}"}))
        continue
    zones = {s.id: ZoneInfo(s.timezone) for s in locations.list_locations(account.id).data}
    hours, days = set(), set()
    for shift in every(shifts.list_shifts, account.id, shifts.ShiftFilter):
        tz = zones[shift.location_id]
        hours.add((shift.start.astimezone(tz).hour, shift.end.astimezone(tz).hour))
        days.add(shift.start.astimezone(tz).date())
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    week = {monday + dt.timedelta(days=n) for n in range(7)}
    lengths = {}
    for entry in timesheets.iter_entries(account.id, timesheets.TimeEntryFilter()):
        span = (entry.clock_out - entry.clock_in).total_seconds() - entry.break_minutes * 60
        lengths[entry.id] = abs(round(span / 3600, 2) - entry.total_hours) < 0.02
    print(json.dumps({"instant": instant, "now": dt.datetime.now(dt.UTC).isoformat(),
                      "workers": summary.workers, "entries": summary.time_entries,
                      "rota_hours": sorted(hours), "hours_add_up": all(lengths.values()),
                      "week_covered": week <= days}))
"""


@needs_faketime
def test_the_demo_loads_at_every_clock_change_of_the_year(tmp_path):
    # Untraced: seven loads under coverage cost about a minute of CPU, and measure nothing the
    # module's own loads (in this process) do not: the loader has no path of its own per date.
    env = {**untraced(), "TZ": "UTC", "FAKETIME_NO_CACHE": "1",
           "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    done = subprocess.run(
        [FAKETIME, "2027-01-01 00:00:00", sys.executable, "-c", LOAD_AT_INSTANTS,
         str(tmp_path / "data"), *CLOCK_CHANGE_INSTANTS],
        capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["instant"] for r in results] == CLOCK_CHANGE_INSTANTS
    for result in results:
        assert "error" not in result, result
        assert result["now"].startswith(result["instant"][:10])  # the clock really was moved
        assert result["workers"] == demo.WORKERS and result["entries"] > 500
        # Every shift starts and ends on the hour of the local rota, whatever the clock did.
        assert set(map(tuple, result["rota_hours"])) <= {(6, 14), (14, 22), (22, 6), (10, 16)}
        assert result["hours_add_up"], result
        assert result["week_covered"], result  # shifts on every day of that week
