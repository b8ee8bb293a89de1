"""Time written after the fact: manual entries are audited, and time payroll has seen is locked."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import msgspec
import pytest

from tempclock.api.services import clocking, connectors, periods, timesheets, webhooks
from tempclock.api.services.clocking import EntryChanges, EntryCreate
from tempclock.api.services.errors import Conflict, Invalid, NotFound
from tempclock.api.services.timesheets import DESKTOP
from tempclock.api.store.models import Event
from tempclock.plugins import Connector
from tempclock.plugins.payroll_csv import PayrollCsvExport

PAYROLL = PayrollCsvExport()
FIRST, LAST = dt.date(2026, 3, 2), dt.date(2026, 3, 8)  # a week in March 2026, London on GMT


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)


def export(account, tmp_path, *, dry_run=False):
    return connectors.run_connector(account.id, PAYROLL, dry_run=dry_run, overrides={
        "period": "custom", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat(),
        "output_dir": str(tmp_path / "out")})


def manual(worker, site, start, end, reason="Kiosk offline; supervisor confirmed", **fields):
    return EntryCreate(worker_id=worker.id, location_id=site.id, clock_in=start, clock_out=end,
                       reason=reason, **fields)


def locked(call) -> Conflict:
    with pytest.raises(Conflict) as excinfo:
        call()
    assert excinfo.value.code == "period_locked", excinfo.value
    return excinfo.value


def test_a_night_shift_beyond_the_backdating_limit_is_added_by_hand_with_its_audit(
        account, site, worker):
    entry = clocking.add_entry(account.id, manual(
        worker, site, dt.datetime(2026, 3, 3, 22), dt.datetime(2026, 3, 4, 6),
        breaks=[clocking.BreakSpan(start=dt.datetime(2026, 3, 4, 2),
                                   end=dt.datetime(2026, 3, 4, 2, 30))]), actor=DESKTOP)
    assert (entry.source, entry.status, entry.work_date, entry.total_hours) == (
        "manual", "completed", dt.date(2026, 3, 3), 7.5)
    (created,) = entry.edits
    assert (created.action, created.actor, created.reason) == (
        "created", DESKTOP, "Kiosk offline; supervisor confirmed")
    assert created.after["clock_in"] == "2026-03-03T22:00:00Z"
    assert created.before["clock_in"] is None


def test_a_manual_entry_keeps_the_rules_of_clocking(account, site, worker, make_worker):
    clocking.add_entry(account.id, manual(worker, site, at(3, 6), at(3, 14)), actor=DESKTOP)
    with pytest.raises(Conflict) as excinfo:
        clocking.add_entry(account.id, manual(worker, site, at(3, 13), at(3, 20)), actor=DESKTOP)
    assert excinfo.value.code == "entry_overlap"
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    refusals = {
        "reason": manual(worker, site, at(4, 6), at(4, 14), reason="  \n "),
        "clock_out": manual(worker, site, at(4, 14), at(4, 6)),
        "breaks": manual(worker, site, at(4, 6), at(4, 14), breaks=[
            clocking.BreakSpan(start=at(4, 13), end=at(4, 15))]),
    }
    for field, request in refusals.items():
        with pytest.raises(Invalid) as excinfo:
            clocking.add_entry(account.id, request, actor=DESKTOP)
        assert excinfo.value.field == field
    with pytest.raises(Invalid) as excinfo:
        clocking.add_entry(account.id, manual(worker, site, future - dt.timedelta(hours=8),
                                              future), actor=DESKTOP)
    assert "future" in excinfo.value.message
    gone = make_worker(account.id, "Bob", "Gone", active=False)
    with pytest.raises(Conflict) as excinfo:
        clocking.add_entry(account.id, manual(gone, site, at(5, 6), at(5, 14)), actor=DESKTOP)
    assert excinfo.value.code == "worker_inactive"
    assert [e.source for e in timesheets.list_entries(account.id).data] == ["manual"]


def test_another_accounts_worker_site_or_entry_is_not_found(account, other_account, site, worker,
                                                            make_location, make_worker):
    their_site = make_location(other_account.id, "Their DC")
    their_worker = make_worker(other_account.id, location_id=their_site.id)
    theirs = clocking.add_entry(other_account.id, manual(their_worker, their_site, at(3, 6),
                                                         at(3, 14)), actor=DESKTOP)
    for request in (manual(their_worker, site, at(3, 6), at(3, 14)),
                    manual(worker, their_site, at(3, 6), at(3, 14))):
        with pytest.raises(NotFound):
            clocking.add_entry(account.id, request, actor=DESKTOP)
    with pytest.raises(NotFound):
        clocking.edit_entry(account.id, theirs.id, EntryChanges(notes="x"), reason="x",
                            actor=DESKTOP)


def test_a_payroll_export_locks_its_period_and_only_its_period(account, site, worker, tmp_path):
    inside = clocking.add_entry(account.id, manual(worker, site, at(3, 6), at(3, 14)),
                                actor=DESKTOP)
    run = export(account, tmp_path)
    assert run.status == "succeeded"
    assert periods.exported_periods(account.id) == [periods.ExportedPeriod(date_from=FIRST,
                                                                           date_to=LAST)]
    error = locked(lambda: clocking.add_entry(account.id, manual(worker, site, at(8, 22),
                                                                 at(9, 6)), actor=DESKTOP))
    assert "already exported to payroll" in error.message and "Sunday 8 March 2026" in error.message
    locked(lambda: clocking.edit_entry(account.id, inside.id, EntryChanges(notes="late"),
                                       reason="late", actor=DESKTOP))
    locked(lambda: clocking.record_entry(account.id, worker.id, site.id, at(5, 6), at(5, 9)))
    # Outside the period time is still written; an overnight shift from the 9th is outside.
    after = clocking.add_entry(account.id, manual(worker, site, at(9, 22), at(10, 6)),
                               actor=DESKTOP)
    # ...but moving it into the exported week is refused: its pay would change unseen.
    locked(lambda: clocking.edit_entry(account.id, after.id, EntryChanges(
        clock_in=at(8, 22), clock_out=at(9, 6)), reason="wrong night", actor=DESKTOP))
    clocking.edit_entry(account.id, after.id, EntryChanges(clock_out=at(10, 7)),
                        reason="stayed an hour", actor=DESKTOP)
    assert [e.action for e in timesheets.entry_history(account.id, after.id)] == [
        "created", "corrected"]


def test_a_dry_run_or_a_failed_export_locks_nothing(account, site, worker, tmp_path):
    assert export(account, tmp_path, dry_run=True).status == "succeeded"

    class BrokenPayroll(Connector):
        id, name, kind = "broken-payroll", "Broken payroll", "payroll"
        capabilities = frozenset({"export_timesheets"})

        def run(self, context):
            context.mark_exported(FIRST, LAST)
            raise OSError("the payroll share is offline")

    assert connectors.run_connector(account.id, BrokenPayroll()).status == "failed"
    assert periods.exported_periods(account.id) == []
    clocking.add_entry(account.id, manual(worker, site, at(3, 6), at(3, 14)), actor=DESKTOP)


def test_a_connector_marking_a_period_backwards_fails_its_run(account):
    class Backwards(Connector):
        id, name, kind = "backwards", "Backwards", "payroll"
        capabilities = frozenset({"export_timesheets"})

        def run(self, context):
            context.mark_exported(LAST, FIRST)

    run = connectors.run_connector(account.id, Backwards())
    assert run.status == "failed" and "before its first day" in run.message
    assert periods.exported_periods(account.id) == []


def test_days_that_had_not_begun_when_payroll_ran_stay_open(account, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    run = connectors.run_connector(account.id, PAYROLL, overrides={
        "period": "custom", "date_from": (today - dt.timedelta(days=2)).isoformat(),
        "date_to": (today + dt.timedelta(days=4)).isoformat(), "output_dir": str(tmp_path)})
    assert run.status == "succeeded"
    assert periods.exported_periods(account.id) == [periods.ExportedPeriod(
        date_from=today - dt.timedelta(days=2), date_to=today + dt.timedelta(days=1))]


def test_a_worker_still_on_site_when_payroll_ran_can_clock_out(account, site, worker, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    entry = clocking.clock_in(account.id, worker.id)
    assert connectors.run_connector(account.id, PAYROLL, overrides={
        "period": "custom", "date_from": (today - dt.timedelta(days=7)).isoformat(),
        "date_to": (today + dt.timedelta(days=1)).isoformat(),  # whatever the site's day
        "output_dir": str(tmp_path)}).status == "succeeded"
    assert clocking.clock_out(account.id, worker.id).id == entry.id
    locked(lambda: clocking.edit_entry(account.id, entry.id, EntryChanges(notes="x"),
                                       reason="x", actor=DESKTOP))


def test_a_workers_approved_day_takes_no_new_time_but_its_other_entries_can_be_fixed(
        account, site, worker):
    morning = clocking.add_entry(account.id, manual(worker, site, at(3, 6), at(3, 10)),
                                 actor=DESKTOP)
    afternoon = clocking.add_entry(account.id, manual(worker, site, at(3, 11), at(3, 15)),
                                   actor=DESKTOP)
    next_day = clocking.add_entry(account.id, manual(worker, site, at(4, 11), at(4, 15)),
                                  actor=DESKTOP)
    timesheets.set_entry_status(account.id, morning.id, "approved")
    error = locked(lambda: clocking.add_entry(account.id, manual(
        worker, site, at(3, 16), at(3, 18)), actor=DESKTOP))
    assert "approved time on Tuesday 3 March 2026" in error.message
    # The afternoon stays on its day: correcting it is the usual approve-then-fix flow.
    clocking.edit_entry(account.id, afternoon.id, EntryChanges(clock_out=at(3, 16)),
                        reason="left later", actor=DESKTOP)
    locked(lambda: clocking.edit_entry(account.id, next_day.id, EntryChanges(
        clock_in=at(3, 16), clock_out=at(3, 18)), reason="wrong day", actor=DESKTOP))
    locked(lambda: clocking.edit_entry(account.id, morning.id, EntryChanges(notes="x"),
                                       reason="x", actor=DESKTOP))


def test_every_write_fires_timesheet_updated_with_who_and_why(account, site, worker):
    key = timesheets.key_actor(4, "ATS sync")
    entry = clocking.add_entry(account.id, manual(worker, site, at(3, 6), at(3, 14)), actor=key)
    clocking.edit_entry(account.id, entry.id, EntryChanges(notes="checked"), reason="audit",
                        actor=DESKTOP)
    timesheets.set_entry_status(account.id, entry.id, "approved")
    events = [msgspec.json.decode(e.data) for e in
              Event.select().where(Event.type == "timesheet_updated").order_by(Event.id)]
    assert [e["id"] for e in events] == [entry.id] * 3
    assert [(e["edit"] or {}).get("actor") for e in events] == [
        {"type": "api_key", "name": "ATS sync", "key_id": 4},
        {"type": "desktop", "name": "desktop", "key_id": None}, None]
    assert events[1]["edit"]["after"] == {"notes": "checked"}
    assert events[2]["status"] == "approved"
    assert webhooks.subscribed(["*"], "timesheet_updated")
    assert "timesheet_updated" in webhooks.EVENTS


def test_an_inactive_site_takes_no_manual_entry(account, site, worker, make_location):
    from tempclock.api.services import locations

    closed = make_location(account.id, "Closed DC")
    locations.deactivate_location(account.id, closed.id)
    with pytest.raises(Conflict) as excinfo:
        clocking.add_entry(account.id, manual(worker, closed, at(3, 6), at(3, 14)),
                           actor=DESKTOP)
    assert excinfo.value.code == "location_inactive"


@pytest.mark.sqlite_only
def test_corrections_made_before_this_version_are_kept_as_the_desktops(tmp_path):
    from playhouse.migrations import Runner

    from tempclock.api.config import load_config
    from tempclock.api.services import locations, workers
    from tempclock.api.store import MIGRATIONS_DIR, _connect, close_store, open_store
    from tempclock.api.store.models import TimeEntry, database

    config = load_config(tmp_path)
    db = _connect(config)
    database.initialize(db)
    Runner(db, str(MIGRATIONS_DIR)).up(target="0008_auth_generation")
    # The account row as 0008 knew it (later migrations add columns to it).
    db.execute_sql("INSERT INTO account (name, api_enabled, log_retention_days, created_at, "
                   "updated_at) VALUES ('Old Agency', 0, 90, '2026-01-01', '2026-01-01')")
    account = SimpleNamespace(id=1)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds", timezone="Europe/London"))
    worker = workers.create_worker(account.id, workers.WorkerCreate(first_name="Ann",
                                                                    last_name="Nowak"))
    entry = TimeEntry.create(account=account.id, worker=worker.id, location=site.id,
                             clock_in=at(3, 6), clock_out=at(3, 14), work_date=FIRST,
                             status="completed")
    db.execute_sql("INSERT INTO entry_edit (account_id, entry_id, reason, changes, created_at) "
                   "VALUES (?, ?, 'Badge reader down', ?, '2026-03-04 09:00:00')",
                   (account.id, entry.id, '{"notes": [null, "late"]}'))
    close_store()

    open_store(config)
    try:
        (change,) = timesheets.entry_history(account.id, entry.id)
        assert (change.action, change.actor, change.reason) == (
            "corrected", DESKTOP, "Badge reader down")
        assert (change.before, change.after) == ({"notes": None}, {"notes": "late"})
        assert periods.exported_periods(account.id) == []
    finally:
        close_store()
