"""The kiosk's cheap punch path: the worker and the site read once, with the PIN and the
link; the clock events built from what was written, not read back (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading

import msgspec
import pytest
from peewee import SqliteDatabase

from tempclock.api.http.kiosk_listener import GATHER_S
from tempclock.api.http.routing import GroupCommit
from tempclock.api.services import (
    clocking,
    cost_codes,
    departments,
    kiosk,
    locations,
    pins,
    shifts,
    timesheets,
    workers,
)
from tempclock.api.services.common import transaction, utcnow
from tempclock.api.services.errors import Conflict
from tempclock.api.store import database
from tempclock.api.store.models import Event

BASE = "http://127.0.0.1:8787"
LEEDS = (53.8008, -1.4436)
YORK = (53.9600, -1.0873)  # ~30 km from Leeds


def token_for(account_id: int, location_id: int) -> str:
    return kiosk.create_link(account_id, location_id, BASE).url.rsplit("/", 1)[1]


def last_event(kind: str) -> dict:
    row = Event.select().where(Event.type == kind).order_by(Event.id.desc()).first()
    assert row is not None, f"no {kind} event"
    return json.loads(row.data)


def as_the_api_reads_it(account_id: int, entry_id: int) -> dict:
    return msgspec.json.decode(msgspec.json.encode(timesheets.get_entry(account_id, entry_id)))


@pytest.fixture
def placed_worker(account, site, make_worker):
    """A worker with a department, an employee ref and a PIN, on a shift with a cost code."""
    department = departments.create_department(
        account.id, departments.DepartmentCreate(name="Goods in"))
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="GI-01", name="Goods in, days"))
    worker = make_worker(account.id, "Zofia", "Kowalska", location_id=site.id,
                         department_id=department.id)
    now = utcnow().replace(tzinfo=dt.UTC)
    shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=now - dt.timedelta(minutes=5),
        end=now + dt.timedelta(hours=8), cost_code_id=code.id))
    pins.set_pin(account.id, worker.id, "480213")
    return worker


def test_every_kiosk_punch_event_carries_the_entry_as_the_api_reads_it_afterwards(
        account, site, placed_worker):
    token = token_for(account.id, site.id)
    for action, event in (("clock_in", "clock_in"), ("break_start", "break_start"),
                          ("break_end", "break_end"), ("clock_out", "clock_out")):
        kiosk.punch(token, "480213", action)
        sent = last_event(event)
        assert sent == as_the_api_reads_it(account.id, sent["id"]), action
    assert sent["worker_name"] == "Zofia Kowalska" and sent["department"] == "Goods in"
    assert sent["cost_code"] == "GI-01" and sent["shift_id"] is not None
    assert sent["location_name"] == site.name and len(sent["breaks"]) == 1


def test_a_clock_in_through_the_api_with_a_cost_code_sends_the_entry_as_it_is_stored(
        account, site, placed_worker):
    other = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="NIGHT", name="Nights"))
    record = clocking.clock_in(account.id, placed_worker.id, cost_code_id=other.id,
                               notes="  first day  ")
    sent = last_event("clock_in")
    assert sent == as_the_api_reads_it(account.id, record.id)
    assert sent["cost_code"] == "NIGHT" and sent["notes"] == "first day"


def test_a_clock_in_given_whole_number_coordinates_sends_them_as_they_are_stored(
        account, site, placed_worker):
    record = clocking.clock_in(account.id, placed_worker.id,
                               position=clocking.Position(54, -1, 12))
    sent = last_event("clock_in")
    assert sent == as_the_api_reads_it(account.id, record.id)
    assert record.latitude == 54.0 and isinstance(record.gps_accuracy, float)


def test_a_worker_clocked_in_at_another_site_clocks_out_at_the_kiosk_under_that_sites_fence(
        account, site, make_location, placed_worker):
    """The entry's own site decides, not the kiosk's: here a warning fence around York."""
    york = make_location(account.id, "York DC", latitude=YORK[0], longitude=YORK[1],
                         settings=locations.LocationSettings(geofence_mode="warn"))
    clocking.clock_in(account.id, placed_worker.id, location_id=york.id)
    kiosk.punch(token_for(account.id, site.id), "480213", "clock_out",
                latitude=LEEDS[0], longitude=LEEDS[1], accuracy_m=10)
    breach = last_event("clock.geofence_breach")
    assert breach["location_id"] == york.id and breach["distance_meters"] > 20_000
    assert last_event("clock_out")["location_name"] == "York DC"


def no_entries(account_id: int) -> bool:
    return timesheets.list_entries(account_id, timesheets.TimeEntryFilter(
        entry_filter="all")).data == []


def test_a_kiosk_at_a_closed_site_refuses_a_clock_in(account, site, placed_worker):
    token = token_for(account.id, site.id)
    locations.deactivate_location(account.id, site.id)
    with pytest.raises(Conflict) as caught:
        kiosk.punch(token, "480213", "clock_in")
    assert caught.value.code == "location_inactive" and no_entries(account.id)


def test_a_worker_made_inactive_cannot_clock_in_at_the_kiosk(account, site, placed_worker):
    workers.deactivate_worker(account.id, placed_worker.id)
    with pytest.raises(Conflict) as caught:
        kiosk.punch(token_for(account.id, site.id), "480213", "clock_in")
    assert caught.value.code == "worker_inactive" and no_entries(account.id)


def test_a_kiosk_punch_runs_ten_statements_at_most(store, account, site, placed_worker):
    """Link with its site, worker by PIN, latest entry, shift, insert, event, and the two
    savepoints (the group commit's request, the clock action): a re-read creeping back in
    (bench/kiosk_punches.py's CPU per punch) fails here first."""
    if not isinstance(store, SqliteDatabase):
        pytest.skip("counted with SQLite's trace callback")
    token = token_for(account.id, site.id)
    statements: list[str] = []
    connection = database.connection()
    for action in ("clock_in", "clock_out"):
        statements.clear()
        with transaction():  # as the group commit runs every request
            connection.set_trace_callback(statements.append)
            try:
                kiosk.punch(token, "480213", action)
            finally:
                connection.set_trace_callback(None)
        assert len(statements) <= 10, (action, statements)


@pytest.mark.sqlite_only  # the group's thread keeps its connection (a PostgreSQL copy would stay in use)
def test_writes_that_come_close_together_share_a_commit_and_a_lone_write_does_not_wait(store):
    """The kiosk listener's group commit: while punches come close together, the first of
    a group waits `GATHER_S` for others to join it, so a group's commit (its sync, its
    turn) is shared: five writes, one transaction. A lone punch goes at once."""
    group = GroupCommit("test-gather")
    group.gather_s = 0.5  # generous for a loaded box: the four follow within milliseconds
    group.busy_s = 60.0  # and "close together" too
    transactions: list[int] = []

    def write() -> int:
        transactions.append(id(database.obj.top_transaction()))
        return len(transactions)

    async def a_lone_write_then_five() -> list[int]:
        assert await group.run(write) == 1
        assert group.gathers == 0  # the first write of a quiet spell did not wait
        first = asyncio.ensure_future(group.run(write))
        await asyncio.sleep(0.01)  # the first is waiting for company by now
        return await asyncio.gather(first, *(group.run(write) for _ in range(4)))

    assert asyncio.run(a_lone_write_then_five()) == [2, 3, 4, 5, 6]
    assert group.gathers == 1
    assert len(set(transactions[1:])) == 1
    assert 0 < GATHER_S <= 0.005  # a wait no one at a kiosk notices


@pytest.mark.sqlite_only  # the group's thread keeps its connection (a PostgreSQL copy would stay in use)
def test_a_backlog_of_writes_is_committed_without_waiting_for_more(store):
    """Writes already queued behind a group make the next group at once: waiting for
    company that is already there would only add to every queued punch's time."""
    group = GroupCommit("test-backlog")
    group.gather_s = 0.5
    group.busy_s = 60.0
    first_running = threading.Event()
    release = threading.Event()

    def slow_write() -> str:
        first_running.set()
        release.wait(10)
        return "first"

    async def a_backlog() -> list[str]:
        first = asyncio.ensure_future(group.run(slow_write))
        await asyncio.get_running_loop().run_in_executor(None, first_running.wait, 10)
        queued = [asyncio.ensure_future(group.run(lambda n=n: f"queued {n}")) for n in range(3)]
        await asyncio.sleep(0.01)  # all three are in the queue behind the first
        release.set()
        return await asyncio.gather(first, *queued)

    assert asyncio.run(a_backlog()) == ["first", "queued 0", "queued 1", "queued 2"]
    assert group.gathers == 0
