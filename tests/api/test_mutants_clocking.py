"""Clocking's rules at their exact edges, as the mutation run (bench/mutation.py) asked:
the skew allowed to a fast device clock, the backdating limit, the geofence radius and
accuracy threshold, shift matching, break order, the hours stored for payroll, entries
written by hand (24 hours, 24 breaks, touching neighbours) and their corrections."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
import time_machine
from migrated_store import config, migrated_data_dir  # noqa: F401 - a migrated store, copied

from tempclock.api.services import clocking, cost_codes, locations, shifts, workers
from tempclock.api.services.clocking import EntryChanges, EntryCorrection, EntryCreate, Position
from tempclock.api.services.errors import Conflict, Forbidden, Invalid
from tempclock.api.services.timesheets import DESKTOP
from tempclock.api.store.models import Event
from tempclock.api.store.models import TimeEntry as TimeEntryRow

DEPOT = (53.8008, -1.4436)  # the site of conftest's make_location


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def stored(entry_id: int) -> tuple[int, int]:
    """The worked and break seconds payroll reads."""
    row = TimeEntryRow.get_by_id(entry_id)
    return row.worked_seconds, row.break_seconds


def events(account_id: int) -> list[str]:
    return [e.type for e in Event.select().where(Event.account == account_id).order_by(Event.id)]


def north_of_depot(metres: float) -> tuple[float, float]:
    return DEPOT[0] + metres / 111_194.9, DEPOT[1]  # one degree of latitude on our sphere


# --- clocking live --------------------------------------------------------------------------


def test_a_device_clock_59_seconds_fast_is_now_and_61_seconds_is_the_future(account, worker):
    entry = clocking.clock_in(account.id, worker.id, timestamp=now() + dt.timedelta(seconds=59))
    assert abs((entry.clock_in - now()).total_seconds()) < 30
    with pytest.raises(Invalid, match="future"):
        clocking.clock_out(account.id, worker.id, timestamp=now() + dt.timedelta(seconds=90))


def test_backdating_exactly_the_limit_is_allowed(account, worker):
    at = now() - dt.timedelta(hours=12) + dt.timedelta(seconds=30)
    entry = clocking.clock_in(account.id, worker.id, timestamp=at)
    assert entry.clock_in == at


def test_hours_are_stored_exactly_less_breaks(account, worker):
    start = now() - dt.timedelta(hours=3)
    entry = clocking.clock_in(account.id, worker.id, timestamp=start, notes="early")
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=60))
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=75))
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=75))
    assert stored(entry.id) == (None, 15 * 60)
    out = clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(minutes=125),
                             notes="late")
    assert stored(entry.id) == (125 * 60 - 65 * 60, 65 * 60)
    assert out.notes == "early\nlate" and out.break_minutes == 65
    assert [(b.start, b.end) for b in out.breaks] == [
        (start + dt.timedelta(minutes=60), start + dt.timedelta(minutes=75)),
        (start + dt.timedelta(minutes=75), start + dt.timedelta(minutes=125))]


def test_a_clock_out_at_the_clock_in_is_allowed_and_before_it_refused(account, worker):
    start = now() - dt.timedelta(hours=1)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    with pytest.raises(Invalid, match="before the clock-in"):
        clocking.clock_out(account.id, worker.id, timestamp=start - dt.timedelta(seconds=1))
    entry = clocking.clock_out(account.id, worker.id, timestamp=start)
    assert stored(entry.id) == (0, 0)


def test_break_times_must_follow_each_other(account, worker):
    start = now() - dt.timedelta(hours=2)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    with pytest.raises(Invalid):
        clocking.start_break(account.id, worker.id, timestamp=start - dt.timedelta(seconds=1))
    clocking.start_break(account.id, worker.id, timestamp=start)  # at the clock-in: fine
    with pytest.raises(Invalid, match="end before it started"):
        clocking.end_break(account.id, worker.id, timestamp=start - dt.timedelta(seconds=1))
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=10))
    with pytest.raises(Invalid, match="previous one ended"):
        clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=9))
    with pytest.raises(Conflict) as not_on_break:
        clocking.end_break(account.id, worker.id)
    assert not_on_break.value.code == "not_on_break"


def test_a_second_clock_in_must_come_after_the_last_entry(account, worker):
    start = now() - dt.timedelta(hours=4)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=1))
    for at in (start, start + dt.timedelta(minutes=59)):
        with pytest.raises(Conflict) as overlap:
            clocking.clock_in(account.id, worker.id, timestamp=at)
        assert overlap.value.code == "entry_overlap"
    again = clocking.clock_in(account.id, worker.id, timestamp=start + dt.timedelta(hours=1))
    assert again.clock_in == start + dt.timedelta(hours=1)


def fenced(account, make_location, make_worker, mode: str, **fields):
    site = make_location(account.id, f"{mode} site", settings=locations.LocationSettings(
        geofence_mode=mode, geofence_radius_m=100, gps_accuracy_threshold=50), **fields)
    return site, make_worker(account.id, location_id=site.id)


def test_a_fix_on_the_fence_is_inside_it_and_a_metre_out_is_outside(account, make_location,
                                                                       make_worker):
    site, w = fenced(account, make_location, make_worker, "block")
    lat, lon = north_of_depot(99.94)
    entry = clocking.clock_in(account.id, w.id, position=Position(lat, lon, 50))
    assert entry.within_geofence is True and entry.low_gps_confidence is False
    assert entry.distance_meters == 99.9  # to the decimetre
    clocking.clock_out(account.id, w.id)
    lat, lon = north_of_depot(101)
    with pytest.raises(Forbidden):
        clocking.clock_in(account.id, w.id, position=Position(lat, lon, 50))
    low = clocking.clock_in(account.id, w.id, position=Position(lat, lon, 50.5))
    assert low.low_gps_confidence is True and low.within_geofence is False
    assert events(account.id)[-3:] == ["clock_in", "clock.geofence_breach",
                                       "clock.low_gps_confidence"]


def test_a_warn_fence_flags_a_breach_in_and_out_but_allow_never(account, make_location,
                                                                make_worker):
    far = Position(*north_of_depot(500), 5)
    site, w = fenced(account, make_location, make_worker, "warn")
    clocking.clock_in(account.id, w.id, position=far)
    clocking.clock_out(account.id, w.id, position=far)
    assert events(account.id)[-4:] == ["clock_in", "clock.geofence_breach", "clock_out",
                                       "clock.geofence_breach"]
    site, w = fenced(account, make_location, make_worker, "allow")
    clocking.clock_in(account.id, w.id, position=far)
    assert events(account.id)[-1] == "clock_in"


def test_a_clock_in_up_to_an_hour_early_belongs_to_the_shift(account, site, worker):
    start = now() + dt.timedelta(minutes=50)
    shift = shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start,
        end=start + dt.timedelta(hours=8)))
    entry = clocking.clock_in(account.id, worker.id)  # 50 minutes early
    assert entry.shift_id == shift.id


def test_a_clock_in_more_than_an_hour_early_belongs_to_no_shift(account, site, worker):
    start = now() + dt.timedelta(minutes=70)
    shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start,
        end=start + dt.timedelta(hours=8)))
    assert clocking.clock_in(account.id, worker.id).shift_id is None


def test_a_clock_in_at_the_shifts_end_belongs_to_no_shift(account, site, worker):
    end = now() - dt.timedelta(seconds=30)
    shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=end - dt.timedelta(hours=4), end=end))
    assert clocking.clock_in(account.id, worker.id, timestamp=end).shift_id is None


@pytest.mark.parametrize(("position", "field"), [
    (Position(90.5, 0.0), "latitude"), (Position(-90.5, 0.0), "latitude"),
    (Position(0.0, 180.5), "longitude"), (Position(0.0, -180.5), "longitude"),
    (Position(0.0, 0.0, -0.5), "gps_accuracy"), (Position(0.0, 0.0, 1_000_000.5), "gps_accuracy"),
    (Position(None, 1.0), "latitude"),
])
def test_a_position_off_the_globe_is_refused_naming_the_field(site, position, field):
    with pytest.raises(Invalid) as refused:
        clocking.geofence(site, position)
    assert refused.value.field == field


@pytest.mark.parametrize("position", [
    Position(90.0, 180.0, 0.0), Position(-90.0, -180.0, 1_000_000.0), Position(),
])
def test_the_poles_the_date_line_and_the_extreme_accuracies_are_accepted(account, worker,
                                                                        position):
    entry = clocking.clock_in(account.id, worker.id, position=position)
    assert (entry.latitude, entry.longitude, entry.gps_accuracy) == tuple(position)


NOTE = "n" * 2000  # the longest note any clocking write keeps


def test_notes_of_2000_characters_are_kept_everywhere_and_2001_refused(account, site, worker):
    start = now() - dt.timedelta(hours=2)
    assert clocking.clock_in(account.id, worker.id, timestamp=start, notes=NOTE).notes == NOTE
    with pytest.raises(Invalid):
        clocking.clock_out(account.id, worker.id, notes=NOTE + "n")
    clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=1),
                       notes="")
    day = now() - dt.timedelta(days=2)
    with pytest.raises(Invalid):
        clocking.clock_in(account.id, worker.id, notes=NOTE + "n")
    with pytest.raises(Invalid):
        clocking.record_entry(account.id, worker.id, site.id, day, day + dt.timedelta(hours=1),
                              notes=NOTE + "n")
    entry = clocking.record_entry(account.id, worker.id, site.id, day,
                                  day + dt.timedelta(hours=1), notes=NOTE)
    with pytest.raises(Invalid):
        clocking.add_entry(account.id, manual(worker, site, day + dt.timedelta(hours=2),
                                              notes=NOTE + "n"), actor=DESKTOP)
    assert clocking.add_entry(account.id, manual(worker, site, day + dt.timedelta(hours=2),
                                                 notes=NOTE), actor=DESKTOP).notes == NOTE
    with pytest.raises(Invalid):
        clocking.edit_entry(account.id, entry.id, EntryChanges(notes=NOTE + "n"), reason="x",
                            actor=DESKTOP)
    edited = clocking.edit_entry(account.id, entry.id, EntryChanges(notes=NOTE[:-1] + "m"),
                                 reason="x", actor=DESKTOP)
    assert len(edited.notes) == 2000


def test_clocking_out_appends_a_note_up_to_2000_characters(account, worker):
    clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=1))
    out = clocking.clock_out(account.id, worker.id, notes=NOTE)
    assert out.notes == NOTE


def test_a_reason_of_500_characters_is_kept_and_501_refused(account, site, worker):
    day = now() - dt.timedelta(days=2)
    with pytest.raises(Invalid) as refused:
        clocking.add_entry(account.id, manual(worker, site, day, reason="r" * 501), actor=DESKTOP)
    assert refused.value.field == "reason"
    detail = clocking.add_entry(account.id, manual(worker, site, day, reason="r" * 500),
                                actor=DESKTOP)
    assert detail.edits[0].reason == "r" * 500


# --- entries written by hand ---------------------------------------------------------------


def test_a_written_entry_may_last_24_hours_not_a_second_more(account, site, worker):
    start = now() - dt.timedelta(days=3)
    entry = clocking.record_entry(account.id, worker.id, site.id, start,
                                  start + dt.timedelta(hours=24))
    assert stored(entry.id) == (24 * 3600, 0)
    later = start + dt.timedelta(days=1, hours=1)
    with pytest.raises(Invalid, match="at most 24 hours"):
        clocking.record_entry(account.id, worker.id, site.id, later,
                              later + dt.timedelta(hours=24, seconds=1))


def test_a_written_entry_must_end_after_it_starts_and_not_in_the_future(account, site, worker):
    start = now() - dt.timedelta(hours=5)
    with pytest.raises(Invalid, match="after clock_in"):
        clocking.record_entry(account.id, worker.id, site.id, start, start)
    with pytest.raises(Invalid, match="future"):
        clocking.record_entry(account.id, worker.id, site.id, start,
                              now() + dt.timedelta(minutes=5))
    entry = clocking.record_entry(account.id, worker.id, site.id, start,
                                  now() + dt.timedelta(seconds=30))  # a clock a little fast
    assert entry.clock_out is not None


def test_24_breaks_are_allowed_25_are_not_and_they_may_touch(account, site, worker):
    start = now() - dt.timedelta(days=2)
    breaks = [(start + dt.timedelta(minutes=10 * i), start + dt.timedelta(minutes=10 * i + 10))
              for i in range(24)]  # each starts as the one before ends; the first at clock-in
    entry = clocking.record_entry(account.id, worker.id, site.id, start,
                                  start + dt.timedelta(minutes=240), breaks=breaks)
    assert stored(entry.id) == (0, 240 * 60)
    later = start + dt.timedelta(hours=5)
    too_many = [(later + dt.timedelta(minutes=i), later + dt.timedelta(minutes=i, seconds=30))
                for i in range(25)]
    with pytest.raises(Invalid, match="at most 24 breaks"):
        clocking.record_entry(account.id, worker.id, site.id, later,
                              later + dt.timedelta(hours=1), breaks=too_many)


@pytest.mark.parametrize("break_minutes",
                         [(-1, 10), (10, 10), (30, 20), (50, 61), (20, 30, 25, 40)])
def test_breaks_outside_the_entry_empty_or_overlapping_are_refused(account, site, worker,
                                                                    break_minutes):
    start = now() - dt.timedelta(days=1)
    minutes = iter(break_minutes)
    breaks = [(start + dt.timedelta(minutes=b), start + dt.timedelta(minutes=e))
              for b, e in zip(minutes, minutes, strict=True)]
    with pytest.raises(Invalid, match="Breaks must lie inside"):
        clocking.record_entry(account.id, worker.id, site.id, start,
                              start + dt.timedelta(minutes=60), breaks=breaks)


def test_written_entries_may_touch_but_not_overlap(account, site, worker):
    start = now() - dt.timedelta(days=1)
    first = clocking.record_entry(account.id, worker.id, site.id, start,
                                  start + dt.timedelta(hours=2))
    clocking.record_entry(account.id, worker.id, site.id, start + dt.timedelta(hours=2),
                          start + dt.timedelta(hours=3))
    with pytest.raises(Conflict) as overlap:
        clocking.record_entry(account.id, worker.id, site.id, start - dt.timedelta(hours=1),
                              start + dt.timedelta(minutes=1))
    assert overlap.value.code == "entry_overlap" and overlap.value.details["entry_id"] == first.id
    clocking.record_entry(account.id, worker.id, site.id, start - dt.timedelta(hours=1), start)


def test_an_open_entry_blocks_any_later_written_entry(account, site, worker):
    start = now() - dt.timedelta(hours=2)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    with pytest.raises(Conflict):
        clocking.record_entry(account.id, worker.id, site.id, start + dt.timedelta(minutes=5),
                              start + dt.timedelta(minutes=30))
    clocking.record_entry(account.id, worker.id, site.id, start - dt.timedelta(hours=1), start)


def test_record_entry_refuses_unknown_statuses_and_sources(account, site, worker):
    start = now() - dt.timedelta(days=1)
    with pytest.raises(Invalid, match="status"):
        clocking.record_entry(account.id, worker.id, site.id, start,
                              start + dt.timedelta(hours=1), status="open")
    with pytest.raises(Invalid, match="source"):
        clocking.record_entry(account.id, worker.id, site.id, start,
                              start + dt.timedelta(hours=1), source="fax")
    entry = clocking.record_entry(account.id, worker.id, site.id, start,
                                  start + dt.timedelta(hours=1), status="approved")
    assert (entry.status, entry.source) == ("approved", "import")


def manual(worker, site, start, hours=1.0, **fields) -> EntryCreate:
    return EntryCreate(worker_id=worker.id, location_id=site.id, clock_in=start,
                       clock_out=start + dt.timedelta(hours=hours),
                       reason=fields.pop("reason", "kiosk was offline"), **fields)


def test_a_manual_entry_needs_a_reason_in_words_and_active_worker_and_site(account, site,
                                                                         worker):
    start = now() - dt.timedelta(days=1)
    for blank in ("   ", "\u200b\u200b", "\n"):
        with pytest.raises(Invalid) as missing:
            clocking.add_entry(account.id, manual(worker, site, start, reason=blank),
                               actor=DESKTOP)
        assert missing.value.field == "reason"
    assert clocking.add_entry(account.id, manual(worker, site, start, reason="?"),
                              actor=DESKTOP).source == "manual"
    workers.update_worker(account.id, worker.id, workers.WorkerUpdate(active=False))
    with pytest.raises(Conflict) as inactive:
        clocking.add_entry(account.id, manual(worker, site, start + dt.timedelta(hours=2)),
                           actor=DESKTOP)
    assert inactive.value.code == "worker_inactive"


def test_a_manual_entry_at_an_inactive_site_is_refused(account, site, worker):
    locations.update_location(account.id, site.id, locations.LocationUpdate(active=False))
    with pytest.raises(Conflict) as inactive:
        clocking.add_entry(account.id, manual(worker, site, now() - dt.timedelta(days=1)),
                           actor=DESKTOP)
    assert inactive.value.code == "location_inactive"


def test_a_manual_entry_is_audited_with_every_value_it_set(account, site, worker):
    start = now() - dt.timedelta(days=1)
    detail = clocking.add_entry(account.id, manual(worker, site, start, notes="night"),
                                actor=DESKTOP)
    (edit,) = detail.edits
    assert edit.action == "created" and edit.reason == "kiosk was offline"
    assert (edit.before["notes"], edit.after["notes"]) == (None, "night")
    assert (edit.before["status"], edit.after["status"]) == (None, "completed")


# --- corrections ---------------------------------------------------------------------------


def written(account, site, worker, start, **kwargs):
    return clocking.record_entry(account.id, worker.id, site.id, start,
                                 start + dt.timedelta(hours=8), **kwargs)


def test_a_correction_recomputes_hours_and_keeps_the_breaks(account, site, worker):
    start = now() - dt.timedelta(days=2)
    entry = written(account, site, worker, start,
                    breaks=[(start + dt.timedelta(hours=4), start + dt.timedelta(hours=4.5))])
    detail = clocking.edit_entry(account.id, entry.id,
                                 EntryChanges(clock_out=start + dt.timedelta(hours=9)),
                                 reason="stayed late", actor=DESKTOP)
    assert stored(entry.id) == (9 * 3600 - 1800, 1800) and len(detail.breaks) == 1
    assert set(detail.edits[-1].after) == {"clock_out"}


def test_a_correction_that_changes_nothing_or_nothing_at_all_is_refused(account, site, worker):
    start = now() - dt.timedelta(days=2)
    entry = written(account, site, worker, start)
    with pytest.raises(Invalid, match="Nothing to change"):
        clocking.edit_entry(account.id, entry.id, EntryChanges(), reason="x", actor=DESKTOP)
    with pytest.raises(Invalid, match="already has"):
        clocking.edit_entry(account.id, entry.id, EntryChanges(clock_in=start), reason="x",
                            actor=DESKTOP)


def test_a_correction_may_not_stretch_an_entry_past_24_hours(account, site, worker):
    start = now() - dt.timedelta(days=3)
    entry = written(account, site, worker, start)
    with pytest.raises(Invalid, match="at most 24 hours"):
        clocking.edit_entry(account.id, entry.id,
                            EntryChanges(clock_in=start - dt.timedelta(hours=17)),
                            reason="typo", actor=DESKTOP)


def test_notes_only_corrections_skip_the_length_check_of_old_entries(account, site, worker):
    start = now() - dt.timedelta(days=3)
    entry = written(account, site, worker, start)
    TimeEntryRow.update(clock_out=(start + dt.timedelta(hours=30)).replace(tzinfo=None)).where(
        TimeEntryRow.id == entry.id).execute()  # an entry from before the 24-hour rule
    detail = clocking.edit_entry(account.id, entry.id, EntryChanges(notes="checked"),
                                 reason="audit", actor=DESKTOP)
    assert detail.notes == "checked" and stored(entry.id)[0] == 30 * 3600


def test_an_open_entry_corrects_its_clock_in_but_not_its_out_or_breaks(account, worker):
    start = now() - dt.timedelta(hours=3)
    entry = clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(hours=1))
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(hours=1.5))
    for changes in (EntryChanges(clock_out=now()), EntryChanges(breaks=[])):
        with pytest.raises(Conflict) as still_open:
            clocking.edit_entry(account.id, entry.id, changes, reason="x", actor=DESKTOP)
        assert still_open.value.code == "entry_open"
    with pytest.raises(Invalid, match="first break"):
        clocking.edit_entry(account.id, entry.id,
                            EntryChanges(clock_in=start + dt.timedelta(hours=1, minutes=1)),
                            reason="x", actor=DESKTOP)
    with pytest.raises(Invalid, match="future"):
        clocking.edit_entry(account.id, entry.id,
                            EntryChanges(clock_in=now() + dt.timedelta(minutes=5)),
                            reason="x", actor=DESKTOP)
    with pytest.raises(Invalid, match="at most 24 hours"):
        clocking.edit_entry(account.id, entry.id,
                            EntryChanges(clock_in=now() - dt.timedelta(hours=25)),
                            reason="x", actor=DESKTOP)
    moved = clocking.edit_entry(account.id, entry.id,
                                EntryChanges(clock_in=start + dt.timedelta(hours=1)),
                                reason="came late", actor=DESKTOP)
    assert moved.clock_in == start + dt.timedelta(hours=1)


def test_an_integrators_correction_replaces_the_breaks(account, site, worker):
    start = now() - dt.timedelta(days=2)
    entry = written(account, site, worker, start,
                    breaks=[(start + dt.timedelta(hours=1), start + dt.timedelta(hours=2))])
    correction = EntryCorrection(reason="lunch was shorter", breaks=[clocking.BreakSpan(
        start=start + dt.timedelta(hours=1), end=start + dt.timedelta(hours=1.25))])
    detail = clocking.correct_entry(account.id, entry.id, correction, actor=DESKTOP)
    assert stored(entry.id) == (8 * 3600 - 900, 900)
    assert [(b.start, b.end) for b in detail.breaks] == [
        (start + dt.timedelta(hours=1), start + dt.timedelta(hours=1.25))]


def test_a_correction_onto_another_entry_is_refused(account, site, worker):
    start = now() - dt.timedelta(days=2)
    first = written(account, site, worker, start)
    second = written(account, site, worker, start + dt.timedelta(hours=8))
    with pytest.raises(Conflict) as overlap:
        clocking.edit_entry(account.id, second.id,
                            EntryChanges(clock_in=start + dt.timedelta(hours=7)),
                            reason="x", actor=DESKTOP)
    assert overlap.value.details["entry_id"] == first.id


# --- more edges the mutation run found -----------------------------------------------------


def test_a_device_clock_exactly_a_minute_fast_is_still_now(account, worker):
    instant = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        entry = clocking.clock_in(account.id, worker.id,
                                  timestamp=instant + dt.timedelta(minutes=1))
    assert entry.clock_in == instant


def test_the_open_break_is_the_one_that_ends(account, worker):
    start = now() - dt.timedelta(hours=3)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=10))
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=20))
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=60))
    with pytest.raises(Invalid, match="end before it started"):
        clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=30))
    entry = clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=75))
    assert entry.break_minutes == 25


def test_a_clock_in_takes_its_shifts_cost_code_unless_it_names_one(account, site, make_worker):
    picking = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="PICK", name="Picking"))
    packing = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code="PACK", name="Packing"))
    start = now() + dt.timedelta(minutes=10)
    for named, expected in ((None, picking.id), (packing.id, packing.id)):
        w = make_worker(account.id, location_id=site.id)
        shifts.create_shift(account.id, shifts.ShiftCreate(
            location_id=site.id, worker_id=w.id, start=start, end=start + dt.timedelta(hours=8),
            cost_code_id=picking.id))
        assert clocking.clock_in(account.id, w.id, cost_code_id=named).cost_code_id == expected


def test_a_correction_onto_another_day_moves_the_entry_to_that_day(account, site, worker):
    start = dt.datetime.combine(dt.date.today() - dt.timedelta(days=3), dt.time(12),
                                tzinfo=dt.UTC)
    entry = written(account, site, worker, start)
    moved = clocking.edit_entry(account.id, entry.id,
                                EntryChanges(clock_in=start - dt.timedelta(hours=20),
                                             clock_out=start - dt.timedelta(hours=12)),
                                reason="was the night before", actor=DESKTOP)
    assert moved.work_date == entry.work_date - dt.timedelta(days=1)


def test_a_kiosk_wall_clock_of_now_in_the_hour_shown_twice_is_the_second_one(account, worker):
    # London's clocks went back at 01:00 UTC on 25 October 2026: 01:30 GMT is 01:30 UTC.
    instant = dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        entry = clocking.clock_in(account.id, worker.id, timestamp=dt.datetime(2026, 10, 25, 1, 30))
    assert entry.clock_in == instant


def test_an_open_entrys_clock_in_may_be_corrected_to_a_minute_ahead(account, worker):
    instant = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        entry = clocking.clock_in(account.id, worker.id, timestamp=instant)
        moved = clocking.edit_entry(account.id, entry.id,
                                    EntryChanges(clock_in=instant + dt.timedelta(minutes=1)),
                                    reason="the kiosk was slow", actor=DESKTOP)
    assert moved.clock_in == instant + dt.timedelta(minutes=1)


def test_a_written_entry_ending_before_it_starts_is_refused(account, site, worker):
    start = now() - dt.timedelta(days=1)
    with pytest.raises(Invalid, match="after clock_in"):
        clocking.record_entry(account.id, worker.id, site.id, start,
                              start - dt.timedelta(hours=1))


def test_a_kiosk_a_minute_fast_in_the_hour_shown_twice_means_the_second_one(account, worker):
    instant = dt.datetime(2026, 10, 25, 1, 29, tzinfo=dt.UTC)  # 01:29 GMT
    with time_machine.travel(instant, tick=False):
        entry = clocking.clock_in(account.id, worker.id, timestamp=dt.datetime(2026, 10, 25, 1, 30))
    assert entry.clock_in == instant  # read as now, not as 00:30 UTC (01:30 BST)


def test_a_clock_in_after_a_shift_ended_belongs_to_no_shift(account, site, worker):
    end = now() - dt.timedelta(hours=2)
    shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=end - dt.timedelta(hours=4), end=end))
    assert clocking.clock_in(account.id, worker.id).shift_id is None


def test_backdating_by_exactly_twelve_hours_is_allowed(account, worker):
    instant = dt.datetime(2027, 2, 1, 21, 0, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        entry = clocking.clock_in(account.id, worker.id,
                                  timestamp=instant - dt.timedelta(hours=12))
    assert entry.clock_in == instant - dt.timedelta(hours=12)


def test_a_clock_request_with_a_field_we_do_not_know_is_refused():
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(b'{"worker_id": 1, "action": "in", "badge": "x"}',
                            type=clocking.ClockRequest)


def test_an_imported_entry_keeps_notes_of_several_lines(account, site, worker):
    start = now() - dt.timedelta(days=1)
    entry = clocking.record_entry(account.id, worker.id, site.id, start,
                                  start + dt.timedelta(hours=1), notes="gate 4\nforklift")
    assert entry.notes == "gate 4\nforklift"


def test_an_open_entrys_clock_in_may_move_earlier_than_its_first_break(account, worker):
    start = now() - dt.timedelta(hours=3)
    entry = clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(hours=1))
    moved = clocking.edit_entry(account.id, entry.id,
                                EntryChanges(clock_in=start + dt.timedelta(minutes=30)),
                                reason="came late", actor=DESKTOP)
    assert moved.clock_in == start + dt.timedelta(minutes=30)


def test_a_fix_exactly_on_the_fence_is_inside(account, make_location, make_worker):
    site, w = fenced(account, make_location, make_worker, "block")
    entry = clocking.clock_in(account.id, w.id, position=Position(*north_of_depot(100), 5))
    assert (entry.distance_meters, entry.within_geofence) == (100.0, True)


def test_a_written_entry_may_end_a_minute_ahead_of_now(account, site, worker):
    instant = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        entry = clocking.record_entry(account.id, worker.id, site.id,
                                      instant - dt.timedelta(hours=1),
                                      instant + dt.timedelta(minutes=1))
    assert entry.clock_out == instant + dt.timedelta(minutes=1)


def test_the_last_break_decides_whether_a_worker_is_on_a_break(account, worker):
    start = now() - dt.timedelta(hours=3)
    clocking.clock_in(account.id, worker.id, timestamp=start, notes="gate 4\nforklift")
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=10))
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=20))
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=30))
    with pytest.raises(Conflict) as on_break:
        clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=40))
    assert on_break.value.code == "already_on_break"
    clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=50))
    with pytest.raises(Invalid, match="previous one ended"):
        clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=45))


def test_a_written_break_with_a_field_we_do_not_know_is_refused():
    body = (b'{"worker_id": 1, "location_id": 1, "clock_in": "2027-01-01T08:00:00",'
            b' "clock_out": "2027-01-01T16:00:00", "reason": "x",'
            b' "breaks": [{"start": "2027-01-01T12:00:00", "end": "2027-01-01T12:30:00",'
            b' "paid": true}]}')
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(body, type=EntryCreate)


def test_more_edges_of_breaks_shifts_and_zero_length_entries(account, site, worker):
    start = now() - dt.timedelta(hours=3)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=5))
    ended = clocking.end_break(account.id, worker.id, timestamp=start + dt.timedelta(minutes=5))
    assert ended.break_minutes == 0  # a break ended as it started is allowed
    clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=1),
                       notes="left by\ngate 2")
    zero = start + dt.timedelta(hours=2)
    clocking.clock_in(account.id, worker.id, timestamp=zero)
    clocking.clock_out(account.id, worker.id, timestamp=zero)
    with pytest.raises(Conflict) as overlap:
        clocking.clock_in(account.id, worker.id, timestamp=zero)
    assert overlap.value.code == "entry_overlap"


def test_a_clock_in_exactly_an_hour_before_a_shift_belongs_to_it(account, site, worker):
    instant = dt.datetime(2027, 2, 1, 7, 0, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False):
        shift = shifts.create_shift(account.id, shifts.ShiftCreate(
            location_id=site.id, worker_id=worker.id, start=instant + dt.timedelta(hours=1),
            end=instant + dt.timedelta(hours=9)))
        assert clocking.clock_in(account.id, worker.id).shift_id == shift.id


def test_a_fence_that_is_off_never_reports_a_breach(account, make_location, make_worker):
    site, w = fenced(account, make_location, make_worker, "off")
    entry = clocking.clock_in(account.id, w.id, position=Position(*north_of_depot(5000), 5))
    assert entry.within_geofence is None
    assert "clock.geofence_breach" not in events(account.id)


def test_manual_entries_keep_reasons_and_notes_of_several_lines(account, site, worker):
    detail = clocking.add_entry(account.id, manual(
        worker, site, now() - dt.timedelta(days=1), reason="kiosk offline\nsee email",
        notes="gate 4\nforklift"), actor=DESKTOP)
    assert detail.notes == "gate 4\nforklift"
    assert detail.edits[0].reason == "kiosk offline\nsee email"


def test_an_actor_name_is_kept_to_100_characters(account, site, worker):
    actor = DESKTOP.__class__(type="desktop", name="a" * 150)
    detail = clocking.add_entry(account.id, manual(worker, site, now() - dt.timedelta(days=1)),
                                actor=actor)
    assert detail.edits[0].actor.name == "a" * 100


@pytest.mark.parametrize(("body", "kind"), [
    (b'{"worker_id": 1, "location_id": 1, "clock_in": "2027-01-01T08:00:00",'
     b' "clock_out": "2027-01-01T16:00:00", "reason": "x", "approved": true}', EntryCreate),
    (b'{"reason": "x", "worker_id": 2}', EntryCorrection),
])
def test_a_written_or_corrected_entry_with_a_field_we_do_not_know_is_refused(body, kind):
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.json.decode(body, type=kind)


def test_a_correction_keeps_notes_of_several_lines(account, site, worker):
    entry = written(account, site, worker, now() - dt.timedelta(days=2))
    detail = clocking.edit_entry(account.id, entry.id, EntryChanges(notes="gate 4\nforklift"),
                                 reason="x", actor=DESKTOP)
    assert detail.notes == "gate 4\nforklift"


def test_a_clock_out_at_another_sites_kiosk_is_checked_against_the_fence_clocked_in_at(
        account, make_location, make_worker):
    """The kiosk hands clock_out the site it stands at; the entry's own site decides."""
    depot, w = fenced(account, make_location, make_worker, "warn")
    far_site = make_location(account.id, "York DC", latitude=53.9600, longitude=-1.0873,
                             settings=locations.LocationSettings(geofence_mode="warn",
                                                                 geofence_radius_m=100))
    at_depot = Position(*DEPOT, 5)
    clocking.clock_in(account.id, w.id, position=at_depot)
    kiosk_site = clocking._location.one(id=far_site.id, account=account.id)  # as kiosk reads it
    out = clocking.clock_out(account.id, w.id, position=at_depot, site=kiosk_site)
    assert (out.location_id, out.status) == (depot.id, "completed")
    assert events(account.id)[-2:] == ["clock_in", "clock_out"]  # no breach at the depot
