"""Hours across the clock changes over HTTP: GET /timesheets counts the hours really worked
and files an overnight entry under the local date it was clocked in."""

from __future__ import annotations

import datetime as dt

import pytest
from clock_changes import NIGHTS, needs_faketime, record_nights

from tempclock.api.services import locations, workers

pytestmark = needs_faketime


@pytest.fixture
def nights(api, tenant):
    """The tenant's London site and a New York one, a night worker at each, the nights worked."""
    new_york = locations.create_location(tenant.account_id, locations.LocationCreate(
        name="Newark Depot", timezone="America/New_York"))
    newark_worker = workers.create_worker(tenant.account_id, workers.WorkerCreate(
        first_name="Dana", last_name="Price", location_id=new_york.id))
    placed = {"Europe/London": (tenant.worker.id, tenant.site.id),
              "America/New_York": (newark_worker.id, new_york.id)}
    record_nights(api.config.data_dir, tenant.account_id, placed)
    return placed


@pytest.mark.parametrize("night", NIGHTS, ids=[f"{n.zone} {n.clocked_in_on}" for n in NIGHTS])
def test_a_night_across_a_clock_change_counts_the_hours_worked_on_its_clock_in_date(
        client, nights, night):
    worker_id, location_id = nights[night.zone]
    day = night.clocked_in_on.isoformat()
    response = client.get(f"/timesheets?worker_id={worker_id}&date_from={day}&date_to={day}")
    assert response.status_code == 200, response.text
    (entry,) = response.json()["data"]
    assert entry["total_hours"] == night.hours
    assert entry["work_date"] == day and entry["location_id"] == location_id
    clocked = dt.datetime.fromisoformat(entry["clock_out"]) - dt.datetime.fromisoformat(
        entry["clock_in"])
    assert clocked == dt.timedelta(hours=night.hours)
    morning = (night.clocked_in_on + dt.timedelta(days=1)).isoformat()
    next_day = client.get(f"/timesheets?worker_id={worker_id}&date_from={morning}"
                          f"&date_to={morning}").json()
    assert next_day["data"] == []  # the morning it ended is not its day


def test_the_nights_of_a_year_add_up_to_the_hours_worked(client, nights):
    for worker_id, _ in nights.values():
        found = client.get(f"/timesheets?worker_id={worker_id}&date_from=2027-01-01"
                           "&date_to=2027-12-31").json()["data"]
        assert sorted(e["total_hours"] for e in found) == [8.0, 10.0]
