"""Correcting time entries and the refusals of clocking, through the services the desktop's
timesheet and clock dialogs call: each correction lands where the admin asked and is kept in
the entry's history; each refusal names what is wrong and leaves the entry as it was."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import clocking, events, locations, timesheets
from tempclock.api.services.clocking import EntryChanges, Position
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.services.timesheets import DESKTOP

REASON = "Supervisor confirmed the times"


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC)  # London is on GMT then


@pytest.fixture
def night(account, site, worker):
    """A finished night shift of 3 March with a half-hour break."""
    return clocking.record_entry(account.id, worker.id, site.id, at(3, 1), at(3, 9),
                                 breaks=[(at(3, 5), at(3, 5, 30))])


def correct(account, entry, **changes):
    return clocking.edit_entry(account.id, entry.id, EntryChanges(**changes), reason=REASON,
                               actor=DESKTOP)


def test_an_entry_moved_to_another_site_is_at_that_site_with_the_move_in_its_history(
        account, night, make_location):
    york = make_location(account.id, "York DC")
    corrected = correct(account, night, location_id=york.id)
    assert (corrected.location_id, corrected.location_name) == (york.id, "York DC")
    assert corrected.edits[-1].before["location_id"] == night.location_id
    assert corrected.edits[-1].after["location_id"] == york.id


def test_corrected_breaks_replace_the_old_ones_and_the_hours_follow(account, night):
    corrected = correct(account, night, breaks=[(at(3, 4), at(3, 4, 15)), (at(3, 7), at(3, 7, 45))])
    assert [(b.start, b.end) for b in corrected.breaks] == [
        (at(3, 4), at(3, 4, 15)), (at(3, 7), at(3, 7, 45))]
    assert (corrected.break_minutes, corrected.total_hours) == (60, 7.0)
    stored = timesheets.get_entry(account.id, night.id)
    assert [(b.start, b.end) for b in stored.breaks] == [(b.start, b.end) for b in corrected.breaks]


def test_a_clock_in_moved_before_midnight_moves_the_entry_to_the_day_before(account, night):
    corrected = correct(account, night, clock_in=at(2, 23))
    assert corrected.work_date == dt.date(2026, 3, 2)
    assert timesheets.get_entry(account.id, night.id).work_date == dt.date(2026, 3, 2)


def test_a_correction_to_the_values_the_entry_has_is_refused_and_not_recorded(account, night):
    with pytest.raises(Invalid, match="what the entry already has"):
        correct(account, night, clock_in=at(3, 1), clock_out=at(3, 9))
    assert timesheets.entry_history(account.id, night.id) == []


@pytest.fixture
def on_break(account, site, worker):
    """A worker clocked in two hours ago who took a break an hour ago and came back."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clocking.clock_in(account.id, worker.id, timestamp=now - dt.timedelta(hours=2))
    clocking.start_break(account.id, worker.id, timestamp=now - dt.timedelta(hours=1))
    return clocking.end_break(account.id, worker.id,
                              timestamp=now - dt.timedelta(minutes=45)), now


def test_the_breaks_of_an_open_entry_are_refused_as_changed_by_clocking(account, on_break):
    entry, now = on_break
    with pytest.raises(Conflict) as refused:
        correct(account, entry, breaks=[])
    assert refused.value.code == "entry_open"
    assert len(timesheets.get_entry(account.id, entry.id).breaks) == 1


def test_an_open_entrys_clock_in_cannot_move_past_its_first_break_or_into_the_future(
        account, on_break):
    entry, now = on_break
    with pytest.raises(Invalid, match="first break") as refused:
        correct(account, entry, clock_in=now - dt.timedelta(minutes=30))
    assert refused.value.field == "clock_in"
    with pytest.raises(Invalid, match="future"):
        correct(account, entry, clock_in=now + dt.timedelta(hours=1))
    assert timesheets.get_entry(account.id, entry.id).clock_in == entry.clock_in


def test_an_open_entrys_notes_are_corrected_and_it_stays_open(account, on_break):
    entry, _now = on_break
    corrected = correct(account, entry, notes="Started at the loading bay")
    assert (corrected.notes, corrected.clock_out) == ("Started at the loading bay", None)


def test_a_break_cannot_start_before_the_clock_in_nor_before_the_last_one_ended(
        account, worker, on_break):
    entry, now = on_break
    with pytest.raises(Invalid, match="before the clock-in"):
        clocking.start_break(account.id, worker.id, timestamp=now - dt.timedelta(hours=3))
    with pytest.raises(Invalid, match="previous one ended"):
        clocking.start_break(account.id, worker.id, timestamp=now - dt.timedelta(minutes=50))
    assert len(timesheets.get_entry(account.id, entry.id).breaks) == 1


def test_a_break_cannot_end_before_it_started(account, worker, on_break):
    _entry, now = on_break
    clocking.start_break(account.id, worker.id, timestamp=now - dt.timedelta(minutes=10))
    with pytest.raises(Invalid, match="end before it started"):
        clocking.end_break(account.id, worker.id, timestamp=now - dt.timedelta(minutes=20))


def test_clock_out_notes_are_added_below_the_clock_in_notes(account, worker):
    clocking.clock_in(account.id, worker.id, notes="Covering for Bea")
    done = clocking.clock_out(account.id, worker.id, notes="Left early: dentist")
    assert done.notes == "Covering for Bea\nLeft early: dentist"


def test_a_clock_out_outside_a_warning_fence_is_kept_and_reported_as_a_breach(
        account, site, worker):
    locations.update_location(account.id, site.id, locations.LocationUpdate(
        settings=locations.LocationSettingsUpdate(geofence_mode="warn")))
    clocking.clock_in(account.id, worker.id, position=Position(53.8008, -1.4436, 10))
    done = clocking.clock_out(account.id, worker.id, position=Position(51.5072, -0.1276, 10))
    assert done.clock_out is not None
    feed = events.list_events(account.id).data
    breach = [e for e in feed if e.event == "clock.geofence_breach"][-1]
    assert breach.data["entry_id"] == done.id and breach.data["distance_meters"] > 100_000


def test_nobody_clocks_in_at_a_closed_site(account, site, worker):
    locations.deactivate_location(account.id, site.id)
    with pytest.raises(Conflict) as refused:
        clocking.clock_in(account.id, worker.id)
    assert refused.value.code == "location_inactive"


def test_a_clock_in_from_an_unknown_source_is_refused(account, worker):
    with pytest.raises(Invalid) as refused:
        clocking.clock_in(account.id, worker.id, source="fax")
    assert refused.value.field == "source"


def test_an_imported_entry_with_an_unknown_status_is_refused(account, site, worker):
    with pytest.raises(Invalid) as refused:
        clocking.record_entry(account.id, worker.id, site.id, at(3, 1), at(3, 9), status="paid")
    assert refused.value.field == "status"
    assert timesheets.list_entries(account.id).data == []
