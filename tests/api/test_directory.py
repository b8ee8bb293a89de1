"""Workers, locations, departments and cost codes: validation with clear messages, and filters."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tempclock.api.services import cost_codes, departments, locations, workers
from tempclock.api.services.common import ListParams
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.services.workers import WorkerCreate, WorkerFilter, WorkerUpdate


def names(page) -> list[str]:
    return [f"{w.first_name} {w.last_name}" for w in page.data]


# --- workers -----------------------------------------------------------------------


def test_a_new_worker_shows_their_site_department_and_assignment(account, site):
    dept = departments.create_department(account.id, departments.DepartmentCreate(name="Drivers"))
    worker = workers.create_worker(account.id, WorkerCreate(
        first_name="  Ann ", last_name="Nowak", employee_ref="E-7", email="ann@example.com",
        location_id=site.id, department_id=dept.id, preferred_language="pl",
        assignment_starts_on=dt.date(2026, 1, 5)))
    assert worker.first_name == "Ann"
    assert worker.location_name == site.name
    assert worker.department == "Drivers"
    assert worker.assignment.location_id == site.id
    assert worker.assignment.starts_on == dt.date(2026, 1, 5)
    assert departments.get_department(account.id, dept.id).worker_count == 1


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"first_name": ""}, "first_name", "Missing required field: first_name"),
        ({"last_name": "   "}, "last_name", "Missing required field: last_name"),
        ({"email": "ann@"}, "email", "not a valid email"),
        ({"phone": "call me"}, "phone", "not a valid phone"),
        ({"preferred_language": "de"}, "preferred_language", "en, pl, ro, lt"),
        ({"first_name": "A" * 101}, "first_name", "at most 100"),
        ({"first_name": "Ann\x00"}, "first_name", "control characters"),
        ({"assignment_starts_on": dt.date(2026, 2, 1), "assignment_ends_on": dt.date(2026, 1, 1)},
         "assignment_ends_on", "end on or after"),
    ],
)
def test_bad_worker_fields_are_refused_in_words(account, fields, field, words):
    data = {"first_name": "Ann", "last_name": "Nowak", **fields}
    with pytest.raises(Invalid) as excinfo:
        workers.create_worker(account.id, WorkerCreate(**data))
    assert excinfo.value.field == field
    assert words in excinfo.value.message


def test_employee_references_are_unique_within_an_account(account, other_account):
    workers.create_worker(account.id, WorkerCreate(first_name="A", last_name="B", employee_ref="E1"))
    with pytest.raises(Conflict) as excinfo:
        workers.create_worker(account.id, WorkerCreate(first_name="C", last_name="D",
                                                       employee_ref="E1"))
    assert excinfo.value.code == "duplicate_employee_ref"
    # Another agency may use the same reference.
    workers.create_worker(other_account.id, WorkerCreate(first_name="C", last_name="D",
                                                         employee_ref="E1"))


def test_an_update_changes_only_the_fields_sent(account, site, worker):
    updated = workers.update_worker(account.id, worker.id, WorkerUpdate(phone="+44 113 496 0000"))
    assert updated.phone == "+44 113 496 0000"
    assert updated.location_id == site.id
    assert updated.updated_at > worker.updated_at
    cleared = workers.update_worker(account.id, worker.id, WorkerUpdate(location_id=None))
    assert cleared.location_id is None and cleared.assignment is None


def test_worker_filters_search_site_department_and_active(account, site, make_location,
                                                         make_worker):
    other_site = make_location(account.id, "Other")
    make_worker(account.id, "Ann", "Nowak", location_id=site.id, employee_ref="WH-1")
    make_worker(account.id, "Bob", "Smith", location_id=other_site.id, employee_ref="DR-2")
    gone = make_worker(account.id, "Cat", "Nowacki", location_id=site.id)
    workers.deactivate_worker(account.id, gone.id)
    find = lambda **f: names(workers.list_workers(account.id, WorkerFilter(**f)))  # noqa: E731
    assert find(search="nowa") == ["Ann Nowak", "Cat Nowacki"]
    assert find(search="DR-") == ["Bob Smith"]
    assert find(location_id=site.id, active=True) == ["Ann Nowak"]
    assert find(active=False) == ["Cat Nowacki"]


def test_paging_is_by_ascending_id_with_totals(account, make_worker):
    made = [make_worker(account.id, f"W{n:02d}", "X") for n in range(7)]
    page = workers.list_workers(account.id, WorkerFilter(limit=3, offset=3))
    assert [w.id for w in page.data] == [w.id for w in made[3:6]]
    assert (page.pagination.total, page.pagination.has_more) == (7, True)
    last = workers.list_workers(account.id, WorkerFilter(limit=3, offset=6))
    assert last.pagination.has_more is False


def test_after_id_and_updated_since_sync_incrementally(account, make_worker):
    made = [make_worker(account.id, f"W{n}", "X") for n in range(4)]
    assert [w.id for w in workers.list_workers(account.id, WorkerFilter(
        after_id=made[1].id)).data] == [made[2].id, made[3].id]
    time.sleep(0.01)
    mark = dt.datetime.now(dt.UTC)
    workers.update_worker(account.id, made[0].id, WorkerUpdate(role="Forklift driver"))
    changed = workers.list_workers(account.id, WorkerFilter(updated_since=mark)).data
    assert [w.id for w in changed] == [made[0].id]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1},
                                    {"after_id": -5}])
def test_out_of_range_paging_is_refused_not_clamped(account, params):
    with pytest.raises(Invalid):
        workers.list_workers(account.id, WorkerFilter(**params))


# --- locations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"latitude": 95.0, "longitude": 0.0}, "latitude"),
        ({"latitude": 53.0}, "latitude"),
        ({"country": "GBR"}, "country"),
        ({"capacity": -1}, "capacity"),
        ({"settings": locations.LocationSettings(geofence_mode="strict")},
         "settings.geofence_mode"),
        ({"settings": locations.LocationSettings(geofence_mode="block")},
         "settings.geofence_mode"),  # a fence needs a centre
        ({"settings": locations.LocationSettings(max_backdate_hours=10_000)},
         "settings.max_backdate_hours"),
    ],
)
def test_bad_location_fields_are_refused(account, fields, field):
    fields = {"timezone": "Europe/London", **fields}
    with pytest.raises(Invalid) as excinfo:
        locations.create_location(account.id, locations.LocationCreate(name="Site", **fields))
    assert excinfo.value.field == field


def test_a_location_shows_how_many_are_on_site(account, site, worker):
    from tempclock.api.services import clocking

    clocking.clock_in(account.id, worker.id)
    assert locations.get_location(account.id, site.id).on_site == 1


def test_changing_a_sites_zone_moves_its_entries_to_their_new_local_dates(account, site, worker):
    from tempclock.api.services import clocking, timesheets

    # 23:30 UTC is 23:30 in London (winter) but 08:30 next day in Tokyo.
    clock_in = dt.datetime(2026, 1, 14, 23, 30, tzinfo=dt.UTC)
    entry = clocking.record_entry(account.id, worker.id, site.id, clock_in,
                                  clock_in + dt.timedelta(hours=2))
    locations.update_location(account.id, site.id, locations.LocationUpdate(timezone="Asia/Tokyo"))
    on_15th = timesheets.list_entries(account.id, timesheets.TimeEntryFilter(
        date_from=dt.date(2026, 1, 15), date_to=dt.date(2026, 1, 15))).data
    assert [e.id for e in on_15th] == [entry.id]


# --- departments and cost codes -------------------------------------------------------


def test_department_names_and_cost_codes_are_unique_per_account(account):
    departments.create_department(account.id, departments.DepartmentCreate(name="Cleaning"))
    with pytest.raises(Conflict):
        departments.create_department(account.id, departments.DepartmentCreate(name="Cleaning"))
    cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="CL-1", name="Night"))
    with pytest.raises(Conflict) as excinfo:
        cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="CL-1", name="Day"))
    assert excinfo.value.code == "duplicate_cost_code"


def test_deactivating_keeps_the_record_listed_as_inactive(account):
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="X", name="X"))
    cost_codes.deactivate_cost_code(account.id, code.id)
    listed = cost_codes.list_cost_codes(account.id, cost_codes.CostCodeFilter(active=False)).data
    assert [c.id for c in listed] == [code.id]
    dept = departments.create_department(account.id, departments.DepartmentCreate(name="Old"))
    assert departments.deactivate_department(account.id, dept.id).active is False


def test_list_params_default_to_fifty_per_page():
    assert ListParams().limit == 50
