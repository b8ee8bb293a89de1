"""Account isolation: another account's ids are "not found", exactly like ids that don't exist."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
import snapshots

from tempclock.api.services import (
    clocking,
    cost_codes,
    departments,
    keys,
    locations,
    shifts,
    timesheets,
    workers,
)
from tempclock.api.services.errors import NotFound


@pytest.fixture
def theirs(other_account, make_location, make_worker):
    """A full set of another agency's records."""
    a = other_account.id
    site = make_location(a, "Their Site")
    dept = departments.create_department(a, departments.DepartmentCreate(name="Their Dept"))
    code = cost_codes.create_cost_code(a, cost_codes.CostCodeCreate(code="T-1", name="Theirs"))
    worker = make_worker(a, "Tom", "Theirs", location_id=site.id)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=10)
    shift = shifts.create_shift(a, shifts.ShiftCreate(location_id=site.id, worker_id=worker.id,
                                                      start=start,
                                                      end=start + dt.timedelta(hours=4)))
    entry = clocking.record_entry(a, worker.id, site.id, start, start + dt.timedelta(hours=4))
    key = keys.issue_key(a, "Their key").key
    return {"site": site.id, "dept": dept.id, "code": code.id, "worker": worker.id,
            "shift": shift.id, "entry": entry.id, "key": key.id}


def attempts(me, mine, t):
    """Every service call that takes an id, each aimed at the other account's record."""
    now = dt.datetime.now(dt.UTC)
    return {
        "get_worker": lambda: workers.get_worker(me, t["worker"]),
        "update_worker": lambda: workers.update_worker(me, t["worker"],
                                                       workers.WorkerUpdate(first_name="X")),
        "deactivate_worker": lambda: workers.deactivate_worker(me, t["worker"]),
        "create_worker_at_their_site": lambda: workers.create_worker(
            me, workers.WorkerCreate(first_name="A", last_name="B", location_id=t["site"])),
        "create_worker_in_their_dept": lambda: workers.create_worker(
            me, workers.WorkerCreate(first_name="A", last_name="B", department_id=t["dept"])),
        "get_location": lambda: locations.get_location(me, t["site"]),
        "update_location": lambda: locations.update_location(
            me, t["site"], locations.LocationUpdate(name="X")),
        "deactivate_location": lambda: locations.deactivate_location(me, t["site"]),
        "get_department": lambda: departments.get_department(me, t["dept"]),
        "update_department": lambda: departments.update_department(
            me, t["dept"], departments.DepartmentUpdate(name="X")),
        "get_cost_code": lambda: cost_codes.get_cost_code(me, t["code"]),
        "update_cost_code": lambda: cost_codes.update_cost_code(
            me, t["code"], cost_codes.CostCodeUpdate(name="X")),
        "create_cost_code_in_their_dept": lambda: cost_codes.create_cost_code(
            me, cost_codes.CostCodeCreate(code="Z", name="Z", department_id=t["dept"])),
        "get_shift": lambda: shifts.get_shift(me, t["shift"]),
        "update_shift": lambda: shifts.update_shift(me, t["shift"],
                                                    shifts.ShiftUpdate(notes="x")),
        "cancel_shift": lambda: shifts.cancel_shift(me, t["shift"]),
        "shift_at_their_site": lambda: shifts.create_shift(me, shifts.ShiftCreate(
            location_id=t["site"], start=now, end=now + dt.timedelta(hours=1))),
        "shift_for_their_worker": lambda: shifts.create_shift(me, shifts.ShiftCreate(
            location_id=mine["site"], worker_id=t["worker"], start=now,
            end=now + dt.timedelta(hours=1))),
        "clock_in_their_worker": lambda: clocking.clock_in(me, t["worker"]),
        "clock_in_at_their_site": lambda: clocking.clock_in(me, mine["worker"],
                                                           location_id=t["site"]),
        "clock_in_with_their_cost_code": lambda: clocking.clock_in(
            me, mine["worker"], cost_code_id=t["code"]),
        "clock_out_their_worker": lambda: clocking.clock_out(me, t["worker"]),
        "start_break_their_worker": lambda: clocking.start_break(me, t["worker"]),
        "end_break_their_worker": lambda: clocking.end_break(me, t["worker"]),
        "record_entry_their_worker": lambda: clocking.record_entry(
            me, t["worker"], mine["site"], now - dt.timedelta(hours=2), now),
        "edit_their_entry": lambda: clocking.edit_entry(
            me, t["entry"], clocking.EntryChanges(notes="x"), reason="x",
            actor=timesheets.DESKTOP),
        "add_entry_for_their_worker": lambda: clocking.add_entry(me, clocking.EntryCreate(
            worker_id=t["worker"], location_id=mine["site"], clock_in=now - dt.timedelta(hours=2),
            clock_out=now, reason="x"), actor=timesheets.DESKTOP),
        "add_entry_at_their_site": lambda: clocking.add_entry(me, clocking.EntryCreate(
            worker_id=mine["worker"], location_id=t["site"], clock_in=now - dt.timedelta(hours=2),
            clock_out=now, reason="x"), actor=timesheets.DESKTOP),
        "their_entry_history": lambda: timesheets.entry_history(me, t["entry"]),
        "get_their_entry": lambda: timesheets.get_entry(me, t["entry"]),
        "approve_their_entry": lambda: timesheets.set_entry_status(me, t["entry"], "approved"),
        "revoke_their_key": lambda: keys.revoke_key(t["key"], account_id=me),
    }


def test_every_service_refuses_another_accounts_ids_as_not_found(account, site, worker, theirs):
    mine = {"site": site.id, "worker": worker.id}
    for name, attempt in attempts(account.id, mine, theirs).items():
        with pytest.raises(NotFound):
            attempt()
            pytest.fail(f"{name} reached another account's record")


def test_their_records_are_untouched_after_the_attempts(account, other_account, site, worker,
                                                        theirs):
    before = snapshots.all_rows()
    for attempt in attempts(account.id, {"site": site.id, "worker": worker.id},
                            theirs).values():
        with contextlib.suppress(NotFound):
            attempt()
    after = snapshots.all_rows()
    assert {table for table in before if before[table] != after[table]} == set()
    assert keys.get_key(theirs["key"]).status == "Active"


def test_lists_show_only_the_accounts_own_records(account, site, worker, theirs):
    me = account.id
    assert [w.id for w in workers.list_workers(me).data] == [worker.id]
    assert [s.id for s in locations.list_locations(me).data] == [site.id]
    assert departments.list_departments(me).data == []
    assert cost_codes.list_cost_codes(me).data == []
    assert shifts.list_shifts(me).data == []
    assert timesheets.list_entries(me, timesheets.TimeEntryFilter(entry_filter="all")).data == []
    assert workers.list_workers(me, workers.WorkerFilter(id=theirs["worker"])).data == []
    assert timesheets.on_site_now(me).sites[0].location_id == site.id
    assert [k.name for k in keys.list_keys(me)] == []
