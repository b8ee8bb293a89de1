"""Timesheets: entries belong to the local date of their clock-in; totals exclude breaks."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import clocking, timesheets
from tempclock.api.services.clocking import EntryChanges
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.services.timesheets import TimeEntryFilter


def ago(hours: float) -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=hours)


def ids(account, **filters) -> list[int]:
    return [e.id for e in timesheets.list_entries(account.id, TimeEntryFilter(**filters)).data]


def test_an_overnight_entry_counts_on_its_clock_in_local_date(account, make_location, make_worker):
    # Auckland is UTC+13 in January: 20:00 on 9 Jan local is 07:00 UTC on 9 Jan;
    # the shift runs to 04:00 on 10 Jan local.
    auckland = make_location(account.id, "Auckland Depot", timezone="Pacific/Auckland")
    w = make_worker(account.id, location_id=auckland.id)
    entry = clocking.record_entry(
        account.id, w.id, auckland.id,
        dt.datetime(2026, 1, 9, 20, 0), dt.datetime(2026, 1, 10, 4, 0),  # local wall clock
        breaks=[(dt.datetime(2026, 1, 10, 0, 0), dt.datetime(2026, 1, 10, 0, 30))],
    )
    assert entry.clock_in == dt.datetime(2026, 1, 9, 7, 0, tzinfo=dt.UTC)
    day = lambda d: ids(account, date_from=d, date_to=d)  # noqa: E731
    assert day(dt.date(2026, 1, 9)) == [entry.id]
    assert day(dt.date(2026, 1, 10)) == []
    assert entry.total_hours == 7.5


def test_an_entry_on_either_side_of_utc_midnight_uses_the_local_day(account, make_location,
                                                                    make_worker):
    # 23:30 UTC on 30 June is 01:30 on 1 July in Warsaw (UTC+2).
    warsaw = make_location(account.id, "Warsaw", timezone="Europe/Warsaw")
    w = make_worker(account.id, location_id=warsaw.id)
    entry = clocking.record_entry(account.id, w.id, warsaw.id,
                                  dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC),
                                  dt.datetime(2026, 7, 1, 6, 0, tzinfo=dt.UTC))
    assert ids(account, date_from=dt.date(2026, 7, 1), date_to=dt.date(2026, 7, 1)) == [entry.id]


def test_entry_filter_separates_completed_active_and_with_breaks(account, worker, make_worker,
                                                                 site):
    done = clocking.record_entry(account.id, worker.id, site.id, ago(30), ago(22))
    with_break = clocking.record_entry(account.id, worker.id, site.id, ago(20), ago(14),
                                       breaks=[(ago(17), ago(16.5))])
    other = make_worker(account.id, "Bob", "Smith", location_id=site.id)
    active = clocking.clock_in(account.id, other.id)
    assert ids(account) == [done.id, with_break.id]  # default: completed shifts
    assert ids(account, entry_filter="active") == [active.id]
    assert ids(account, entry_filter="breaks") == [with_break.id]
    assert ids(account, entry_filter="all") == [done.id, with_break.id, active.id]
    with pytest.raises(Invalid):
        ids(account, entry_filter="everything")


def test_totals_are_hours_excluding_breaks_per_worker(account, worker, site, make_worker):
    clocking.record_entry(account.id, worker.id, site.id, ago(30), ago(22),
                          breaks=[(ago(26), ago(25.5))])
    clocking.record_entry(account.id, worker.id, site.id, ago(20), ago(16))
    other = make_worker(account.id, "Bob", "Smith")
    clocking.record_entry(account.id, other.id, site.id, ago(10), ago(9))
    totals = timesheets.timesheet_totals(account.id)
    per_worker = {w.worker_name: w.total_hours for w in totals.workers}
    assert per_worker == {"Ann Nowak": 11.5, "Bob Smith": 1.0}
    assert totals.total_hours == 12.5
    assert totals.break_minutes == 30
    page = timesheets.list_entries(account.id)
    assert sum(e.total_hours for e in page.data) == totals.total_hours


def test_entries_can_be_approved_or_disputed_once_closed(account, worker):
    entry = clocking.clock_in(account.id, worker.id)
    with pytest.raises(Conflict):
        timesheets.set_entry_status(account.id, entry.id, "approved")
    clocking.clock_out(account.id, worker.id)
    assert timesheets.set_entry_status(account.id, entry.id, "approved").status == "approved"
    assert ids(account, status="approved") == [entry.id]
    assert timesheets.set_entry_status(account.id, entry.id, "disputed").status == "disputed"


def test_a_correction_keeps_who_when_the_old_and_new_values_and_why(account, worker, site):
    entry = clocking.record_entry(account.id, worker.id, site.id, ago(30), ago(22))
    fixed = clocking.edit_entry(account.id, entry.id, EntryChanges(clock_out=ago(21)),
                                reason="Stayed late for a delivery, confirmed by supervisor",
                                actor=timesheets.key_actor(7, "Payroll bureau"))
    assert fixed.total_hours == 9.0
    (change,) = fixed.edits
    assert change == timesheets.entry_history(account.id, entry.id)[0]
    assert change.reason.startswith("Stayed late") and change.action == "corrected"
    assert (change.actor.type, change.actor.key_id, change.actor.name) == (
        "api_key", 7, "Payroll bureau")
    assert change.before == {"clock_out": entry.clock_out.isoformat().replace("+00:00", "Z")}
    assert change.after == {"clock_out": fixed.clock_out.isoformat().replace("+00:00", "Z")}


def test_an_approved_entry_is_locked_until_it_is_disputed(account, worker, site):
    entry = clocking.record_entry(account.id, worker.id, site.id, ago(30), ago(22))
    timesheets.set_entry_status(account.id, entry.id, "approved")
    with pytest.raises(Conflict) as excinfo:
        clocking.edit_entry(account.id, entry.id, EntryChanges(notes="late"), reason="late",
                            actor=timesheets.DESKTOP)
    assert excinfo.value.code == "period_locked"
    assert timesheets.entry_history(account.id, entry.id) == []
    timesheets.set_entry_status(account.id, entry.id, "disputed")
    fixed = clocking.edit_entry(account.id, entry.id, EntryChanges(notes="late"),
                                reason="late", actor=timesheets.DESKTOP)
    assert fixed.notes == "late" and fixed.status == "disputed"


def test_a_correction_needs_a_reason_and_keeps_the_rules(account, worker, site):
    first = clocking.record_entry(account.id, worker.id, site.id, ago(30), ago(22))
    second = clocking.record_entry(account.id, worker.id, site.id, ago(20), ago(14))
    with pytest.raises(Invalid) as excinfo:
        clocking.edit_entry(account.id, first.id, EntryChanges(clock_out=ago(21)), reason=" ",
                            actor=timesheets.DESKTOP)
    assert excinfo.value.field == "reason"
    with pytest.raises(Conflict) as excinfo:
        clocking.edit_entry(account.id, first.id, EntryChanges(clock_out=ago(19)),
                            reason="typo", actor=timesheets.DESKTOP)
    assert excinfo.value.code == "entry_overlap"
    with pytest.raises(Invalid):
        clocking.edit_entry(account.id, second.id,
                            EntryChanges(breaks=[(ago(25), ago(24))]), reason="lunch",
                            actor=timesheets.DESKTOP)


def test_on_site_now_lists_who_is_clocked_in_by_site(account, site, worker, make_worker,
                                                     make_location):
    empty = make_location(account.id, "Quiet Site")
    bob = make_worker(account.id, "Bob", "Smith", location_id=site.id)
    clocking.clock_in(account.id, worker.id)
    clocking.clock_in(account.id, bob.id)
    clocking.clock_out(account.id, bob.id)
    board = {s.name: s for s in timesheets.on_site_now(account.id).sites}
    assert board[site.name].on_site == 1
    assert [w.name for w in board[site.name].workers] == ["Ann Nowak"]
    assert board[empty.name].on_site == 0
