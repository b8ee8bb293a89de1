"""Every endpoint and filter of API.md, on the clean path and the TempClock `.php` path."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import (
    clocking,
    cost_codes,
    departments,
    locations,
    shifts,
    workers,
)

PATH_STYLES = ["", ".php"]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture
def agency(tenant):
    """A tenant with a second site, a department, a cost code, shifts and time entries."""
    a = tenant.account_id
    dept = departments.create_department(a, departments.DepartmentCreate(name="Warehouse"))
    code = cost_codes.create_cost_code(a, cost_codes.CostCodeCreate(
        code="WH-PICK", name="Picking", department_id=dept.id))
    other_site = locations.create_location(a, locations.LocationCreate(
        name="Warsaw Hub", timezone="Europe/Warsaw", latitude=52.3, longitude=21.03, active=False))
    placed = workers.create_worker(a, workers.WorkerCreate(
        first_name="Piotr", last_name="Zielinski", employee_ref="PZ-1", location_id=other_site.id,
        department_id=dept.id, email="piotr@example.com"))
    idle = workers.create_worker(a, workers.WorkerCreate(
        first_name="Ion", last_name="Popescu", employee_ref="IP-1", active=False))
    start = now() - dt.timedelta(hours=6)
    entry = clocking.record_entry(a, tenant.worker.id, tenant.site.id, start,
                                  start + dt.timedelta(hours=4),
                                  breaks=[(start + dt.timedelta(hours=2),
                                           start + dt.timedelta(hours=2, minutes=30))],
                                  cost_code_id=code.id)
    open_entry = clocking.clock_in(a, placed.id, location_id=tenant.site.id)
    shift = shifts.create_shift(a, shifts.ShiftCreate(
        location_id=tenant.site.id, worker_id=tenant.worker.id,
        start=now() + dt.timedelta(days=1), end=now() + dt.timedelta(days=1, hours=8),
        department_id=dept.id, cost_code_id=code.id))
    open_shift = shifts.create_shift(a, shifts.ShiftCreate(
        location_id=other_site.id, start=now() + dt.timedelta(days=2),
        end=now() + dt.timedelta(days=2, hours=8)))
    return {"dept": dept, "code": code, "other_site": other_site, "placed": placed, "idle": idle,
            "entry": entry, "open_entry": open_entry, "shift": shift, "open_shift": open_shift}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


@pytest.mark.parametrize("style", PATH_STYLES)
def test_workers_are_listed_filtered_and_fetched_on_both_paths(client, tenant, agency, style):
    w, placed, idle = tenant.worker, agency["placed"], agency["idle"]
    body = client.get(f"/workers{style}").json()
    assert [x["id"] for x in body["data"]] == [w.id, placed.id, idle.id]
    assert body["pagination"] == {"total": 3, "limit": 50, "offset": 0, "has_more": False}
    assert ids(client.get(f"/workers{style}?active=1")) == [w.id, placed.id]
    assert ids(client.get(f"/workers{style}?active=false")) == [idle.id]
    assert ids(client.get(f"/workers{style}?location_id={tenant.site.id}")) == [w.id]
    assert ids(client.get(f"/workers{style}?department_id={agency['dept'].id}")) == [placed.id]
    assert ids(client.get(f"/workers{style}?search=Popes")) == [idle.id]
    assert ids(client.get(f"/workers{style}?search=PZ-1")) == [placed.id]
    assert ids(client.get(f"/workers{style}?after_id={w.id}")) == [placed.id, idle.id]
    assert ids(client.get(f"/workers{style}?updated_since=2000-01-01T00:00:00Z")) == [
        w.id, placed.id, idle.id]
    assert ids(client.get(f"/workers{style}?updated_since=2999-01-01T00:00:00Z")) == []
    page = client.get(f"/workers{style}?limit=2&offset=1").json()
    assert [x["id"] for x in page["data"]] == [placed.id, idle.id]
    assert page["pagination"] == {"total": 3, "limit": 2, "offset": 1, "has_more": False}
    assert client.get(f"/workers{style}?limit=1").json()["pagination"]["has_more"] is True
    one = client.get(f"/workers{style}?id={placed.id}").json()["data"]
    assert one["employee_ref"] == "PZ-1"
    assert one["department"] == "Warehouse"
    assert one["assignment"]["location_name"] == "Warsaw Hub"
    assert one["created_at"].endswith("Z")


def test_a_worker_is_reachable_by_path_id(client, tenant):
    assert client.get(f"/workers/{tenant.worker.id}").json()["data"]["id"] == tenant.worker.id


@pytest.mark.parametrize("style", PATH_STYLES)
def test_a_worker_is_created_and_updated_on_both_paths(client, tenant, style):
    created = client.post(f"/workers{style}", json={
        "first_name": "Lina", "last_name": "Kaz", "employee_ref": f"LK{style}",
        "email": "lina@example.com", "location_id": tenant.site.id, "preferred_language": "lt"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["message"]
    worker_id = body["data"]["id"]
    assert body["data"]["location_name"] == tenant.site.name
    updated = client.patch(f"/workers{style}?id={worker_id}", json={"role": "Picker"})
    assert updated.status_code == 200
    assert updated.json()["data"]["role"] == "Picker"
    by_path = client.patch(f"/workers/{worker_id}", json={"active": False})
    assert by_path.json()["data"]["active"] is False


def test_a_duplicate_employee_ref_is_a_conflict(client, tenant):
    response = client.post("/workers", json={"first_name": "A", "last_name": "B",
                                              "employee_ref": tenant.worker.employee_ref})
    assert response.status_code == 409
    assert response.json()["code"] == "duplicate_employee_ref"


def test_an_invalid_email_is_refused(client):
    response = client.post("/workers", json={"first_name": "A", "last_name": "B",
                                              "email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.json()["message"]


@pytest.mark.parametrize("style", PATH_STYLES)
def test_time_entries_are_listed_by_every_filter(client, tenant, agency, style):
    entry, open_entry = agency["entry"], agency["open_entry"]
    today = entry.clock_in.date()
    assert ids(client.get(f"/timesheets{style}")) == [entry.id]  # shifts: completed only
    assert ids(client.get(f"/timesheets{style}?entry_filter=active")) == [open_entry.id]
    assert ids(client.get(f"/timesheets{style}?entry_filter=breaks")) == [entry.id]
    assert ids(client.get(f"/timesheets{style}?entry_filter=all")) == [entry.id, open_entry.id]
    span = f"date_from={today - dt.timedelta(days=1)}&date_to={today + dt.timedelta(days=1)}"
    assert ids(client.get(f"/timesheets{style}?{span}")) == [entry.id]
    assert ids(client.get(f"/timesheets{style}?date_from=2001-01-01&date_to=2001-01-02")) == []
    assert ids(client.get(f"/timesheets{style}?worker_id={tenant.worker.id}")) == [entry.id]
    assert ids(client.get(f"/timesheets{style}?location_id={tenant.site.id}&entry_filter=all")
               ) == [entry.id, open_entry.id]
    assert ids(client.get(f"/timesheets{style}?department_id={agency['dept'].id}"
                          "&entry_filter=all")) == [open_entry.id]
    assert ids(client.get(f"/timesheets{style}?cost_code_id={agency['code'].id}")) == [entry.id]
    assert ids(client.get(f"/timesheets{style}?status=completed")) == [entry.id]
    assert ids(client.get(f"/timesheets{style}?status=approved")) == []
    assert ids(client.get(f"/timesheets{style}?after_id={entry.id}&entry_filter=all")) == [
        open_entry.id]
    assert ids(client.get(f"/timesheets{style}?updated_since=2999-01-01T00:00:00Z")) == []
    one = client.get(f"/timesheets{style}?id={entry.id}").json()["data"]
    assert one["total_hours"] == 3.5
    assert one["break_minutes"] == 30
    assert one["breaks"][0]["end"].endswith("Z")
    assert one["cost_code"] == "WH-PICK"


def test_a_time_entry_is_reachable_by_path_id(client, agency):
    entry = agency["entry"]
    assert client.get(f"/timesheets/{entry.id}").json()["data"]["worker_id"] == entry.worker_id


def test_bad_timesheet_filters_are_refused_naming_the_parameter(client):
    for query, name in (("date_from=2026-02-30", "date_from"), ("worker_id=abc", "worker_id"),
                        ("entry_filter=everything", "entry_filter"), ("status=lost", "status"),
                        ("limit=0", "limit"), ("limit=101", "limit"), ("offset=-1", "offset")):
        response = client.get(f"/timesheets?{query}")
        assert response.status_code == 400, query
        assert name in response.json()["message"], (query, response.json())


@pytest.mark.parametrize("style", PATH_STYLES)
def test_clocking_in_and_out_and_breaks_on_both_paths(client, tenant, style):
    wid = tenant.worker.id
    clock_in = client.post(f"/clock{style}", json={"worker_id": wid, "action": "in"})
    assert clock_in.status_code == 201, clock_in.text
    entry = clock_in.json()["data"]
    assert entry["clock_out"] is None and entry["status"] == "open"
    assert client.post(f"/clock{style}", json={"worker_id": wid, "action": "break_start"}
                       ).status_code == 200
    assert client.post(f"/clock{style}", json={"worker_id": wid, "action": "break_end"}
                       ).status_code == 200
    clock_out = client.post(f"/clock{style}", json={"worker_id": wid, "action": "out"})
    assert clock_out.status_code == 200
    closed = clock_out.json()["data"]
    assert closed["id"] == entry["id"]
    assert closed["status"] == "completed" and closed["clock_out"].endswith("Z")
    assert len(closed["breaks"]) == 1


def test_clocking_in_twice_is_a_conflict_naming_the_open_entry(client, tenant):
    wid = tenant.worker.id
    first = client.post("/clock", json={"worker_id": wid, "action": "in"}).json()["data"]
    again = client.post("/clock", json={"worker_id": wid, "action": "in"})
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "already_clocked_in"
    assert body["entry_id"] == first["id"]
    assert body["message"] == f"Worker {wid} is already clocked in"


def test_clock_refusals(client, tenant, agency):
    wid = tenant.worker.id
    out = client.post("/clock", json={"worker_id": wid, "action": "out"})
    assert out.status_code == 409
    missing = client.post("/clock", json={"action": "in"})
    assert missing.status_code == 400
    assert missing.json()["message"] == "Missing required field: worker_id"
    unknown = client.post("/clock", json={"worker_id": wid, "action": "jump"})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_action"
    inactive = client.post("/clock", json={"worker_id": agency["idle"].id, "action": "in",
                                           "location_id": tenant.site.id})
    assert inactive.status_code == 409 and inactive.json()["code"] == "worker_inactive"
    nowhere = client.post("/clock", json={"worker_id": wid, "action": "in",
                                          "location_id": 999_999})
    assert nowhere.status_code == 404
    future = client.post("/clock", json={"worker_id": wid, "action": "in", "timestamp":
                                         (now() + dt.timedelta(hours=2)).isoformat()})
    assert future.status_code == 400 and "future" in future.json()["message"]


def test_a_blocking_geofence_refuses_a_clock_in_far_away(client, tenant):
    site = locations.create_location(tenant.account_id, locations.LocationCreate(
        name="Fenced", timezone="Europe/London", latitude=51.5, longitude=-0.12,
        settings=locations.LocationSettings(geofence_mode="block", geofence_radius_m=100)))
    response = client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in",
                                           "location_id": site.id, "latitude": 53.0,
                                           "longitude": -1.0, "gps_accuracy": 10})
    assert response.status_code == 403
    assert response.json()["code"] == "geofence_refused"


@pytest.mark.parametrize("style", PATH_STYLES)
def test_locations_are_listed_with_on_site_counts(client, tenant, agency, style):
    site, other = tenant.site, agency["other_site"]
    listed = client.get(f"/locations{style}").json()
    assert [x["id"] for x in listed["data"]] == [site.id, other.id]
    assert listed["data"][0]["on_site"] == 1
    assert listed["data"][0]["settings"]["geofence_mode"] == "off"
    assert ids(client.get(f"/locations{style}?active=0")) == [other.id]
    assert ids(client.get(f"/locations{style}?after_id={site.id}")) == [other.id]
    assert client.get(f"/locations{style}?id={other.id}").json()["data"]["timezone"] == (
        "Europe/Warsaw")
    assert client.get(f"/locations/{site.id}").json()["data"]["name"] == site.name


@pytest.mark.parametrize("style", PATH_STYLES)
def test_shifts_are_listed_filtered_and_created(client, tenant, agency, style):
    shift, open_shift = agency["shift"], agency["open_shift"]
    assert ids(client.get(f"/shifts{style}")) == [shift.id, open_shift.id]
    assert ids(client.get(f"/shifts{style}?status=open")) == [open_shift.id]
    assert ids(client.get(f"/shifts{style}?worker_id={tenant.worker.id}")) == [shift.id]
    assert ids(client.get(f"/shifts{style}?location_id={agency['other_site'].id}")) == [
        open_shift.id]
    assert ids(client.get(f"/shifts{style}?department_id={agency['dept'].id}")) == [shift.id]
    day = shift.start.date()
    assert ids(client.get(f"/shifts{style}?date_from={day}&date_to={day}")) == [shift.id]
    assert ids(client.get(f"/shifts{style}?after_id={shift.id}")) == [open_shift.id]
    assert client.get(f"/shifts{style}?id={open_shift.id}").json()["data"]["worker_id"] is None
    assert client.get(f"/shifts/{shift.id}").json()["data"]["worker_name"] == "Ann Nowak"
    start = now() + dt.timedelta(days=5)
    created = client.post(f"/shifts{style}", json={
        "location_id": tenant.site.id, "worker_id": tenant.worker.id,
        "start": start.isoformat(), "end": (start + dt.timedelta(hours=8)).isoformat()})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["status"] == "scheduled"


def test_shift_rules_are_enforced(client, tenant, agency):
    start = agency["shift"].start
    overlap = client.post("/shifts", json={
        "location_id": tenant.site.id, "worker_id": tenant.worker.id,
        "start": (start + dt.timedelta(hours=1)).isoformat(),
        "end": (start + dt.timedelta(hours=3)).isoformat()})
    assert overlap.status_code == 409 and overlap.json()["code"] == "shift_overlap"
    too_long = client.post("/shifts", json={
        "location_id": tenant.site.id, "start": start.isoformat(),
        "end": (start + dt.timedelta(hours=25)).isoformat()})
    assert too_long.status_code == 400
    backwards = client.post("/shifts", json={
        "location_id": tenant.site.id, "start": start.isoformat(),
        "end": (start - dt.timedelta(hours=1)).isoformat()})
    assert backwards.status_code == 400
    inactive = client.post("/shifts", json={
        "location_id": tenant.site.id, "worker_id": agency["idle"].id,
        "start": (start + dt.timedelta(days=3)).isoformat(),
        "end": (start + dt.timedelta(days=3, hours=2)).isoformat()})
    assert inactive.status_code == 409 and inactive.json()["code"] == "worker_inactive"
    missing = client.post("/shifts", json={"location_id": tenant.site.id})
    assert missing.status_code == 400 and missing.json()["message"] == (
        "Missing required field: start")


@pytest.mark.parametrize("style", PATH_STYLES)
def test_departments_are_listed_with_worker_counts(client, agency, style):
    dept = agency["dept"]
    listed = client.get(f"/departments{style}").json()["data"]
    assert [(d["id"], d["name"], d["worker_count"]) for d in listed] == [
        (dept.id, "Warehouse", 1)]
    assert client.get(f"/departments{style}?id={dept.id}").json()["data"]["name"] == "Warehouse"
    assert client.get(f"/departments/{dept.id}").json()["data"]["worker_count"] == 1
    assert ids(client.get(f"/departments{style}?after_id={dept.id}")) == []


@pytest.mark.parametrize("path", ["/cost-codes", "/cost-codes.php", "/cost_codes.php"])
def test_cost_codes_are_listed_on_all_three_paths(client, agency, path):
    code = agency["code"]
    listed = client.get(path).json()["data"]
    assert [(c["id"], c["code"], c["department_id"]) for c in listed] == [
        (code.id, "WH-PICK", agency["dept"].id)]
    assert client.get(f"{path}?id={code.id}").json()["data"]["name"] == "Picking"
    assert ids(client.get(f"{path}?updated_since=2999-01-01T00:00:00Z")) == []
    assert client.get(f"/cost-codes/{code.id}").json()["data"]["code"] == "WH-PICK"


@pytest.mark.parametrize("path", ["/on-site-now", "/on-site-now.php", "/on_site_now.php"])
def test_on_site_now_lists_who_is_clocked_in_by_site(client, tenant, agency, path):
    body = client.get(path).json()["data"]
    assert body["as_of"].endswith("Z")
    sites = {s["location_id"]: s for s in body["sites"]}
    here = sites[tenant.site.id]
    assert here["on_site"] == 1 and here["capacity"] == 40
    assert [w["worker_id"] for w in here["workers"]] == [agency["placed"].id]
    only = client.get(f"{path}?location_id={tenant.site.id}").json()["data"]["sites"]
    assert [s["location_id"] for s in only] == [tenant.site.id]
