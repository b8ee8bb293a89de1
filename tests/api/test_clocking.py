"""Clocking rules: one open entry per worker, honest timestamps, geofences, breaks."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tempclock.api.services import clocking, locations, timesheets, workers
from tempclock.api.services.clocking import ClockRequest, Position
from tempclock.api.services.errors import Conflict, Forbidden, Invalid, NotFound
from tempclock.api.store import database
from tempclock.api.store.models import Event, TimeEntry


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def open_entries(worker_id: int) -> int:
    return (TimeEntry.select()
            .where((TimeEntry.worker == worker_id) & TimeEntry.clock_out.is_null())
            .count())


def event_types(account_id: int) -> list[str]:
    return [e.type for e in Event.select().where(Event.account == account_id).order_by(Event.id)]


def test_clocking_in_opens_an_entry_at_the_workers_assigned_site(account, site, worker):
    entry = clocking.clock_in(account.id, worker.id)
    assert entry.status == "open"
    assert entry.location_id == site.id
    assert entry.clock_out is None and entry.total_hours is None
    assert entry.worker_name == "Ann Nowak"
    assert event_types(account.id)[-1] == "clock_in"


def test_clocking_out_closes_the_entry_with_its_hours(account, worker):
    start = now() - dt.timedelta(hours=8)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    entry = clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=7.5))
    assert entry.status == "completed"
    assert entry.total_hours == 7.5
    assert event_types(account.id)[-1] == "clock_out"


def test_a_worker_already_clocked_in_cannot_clock_in_again(account, worker):
    first = clocking.clock_in(account.id, worker.id)
    with pytest.raises(Conflict) as excinfo:
        clocking.clock_in(account.id, worker.id)
    assert excinfo.value.code == "already_clocked_in"
    assert excinfo.value.details["entry_id"] == first.id


def test_a_worker_not_clocked_in_cannot_clock_out(account, worker):
    with pytest.raises(Conflict) as excinfo:
        clocking.clock_out(account.id, worker.id)
    assert excinfo.value.code == "not_clocked_in"


def test_twenty_simultaneous_clock_ins_leave_exactly_one_open_entry(account, worker, config):
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt():
        barrier.wait()
        try:
            clocking.clock_in(account.id, worker.id)
            result = "opened"
        except Conflict as error:
            result = error.code
        finally:
            database.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_clocked_in"] * 19 + ["opened"]
    assert open_entries(worker.id) == 1


def test_the_database_itself_refuses_a_second_open_entry(account, site, worker):
    from peewee import IntegrityError

    clocking.clock_in(account.id, worker.id)
    with pytest.raises(IntegrityError), database.atomic():
        TimeEntry.create(account=account.id, worker=worker.id, location=site.id,
                         clock_in=dt.datetime(2026, 1, 1), work_date=dt.date(2026, 1, 1))


def test_an_inactive_worker_cannot_clock_in(account, worker):
    workers.deactivate_worker(account.id, worker.id)
    with pytest.raises(Conflict) as excinfo:
        clocking.clock_in(account.id, worker.id)
    assert excinfo.value.code == "worker_inactive"


def test_a_worker_deactivated_mid_shift_can_still_clock_out(account, worker):
    clocking.clock_in(account.id, worker.id)
    workers.deactivate_worker(account.id, worker.id)
    assert clocking.clock_out(account.id, worker.id).status == "completed"


def test_a_future_timestamp_is_refused(account, worker):
    with pytest.raises(Invalid) as excinfo:
        clocking.clock_in(account.id, worker.id, timestamp=now() + dt.timedelta(minutes=10))
    assert excinfo.value.field == "timestamp"
    assert open_entries(worker.id) == 0


def test_a_device_clock_a_few_seconds_fast_is_read_as_now(account, worker):
    entry = clocking.clock_in(account.id, worker.id, timestamp=now() + dt.timedelta(seconds=20))
    assert entry.clock_in <= now()


def test_backdating_is_limited_by_the_location_default_twelve_hours(account, worker):
    entry = clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=11))
    clocking.clock_out(account.id, worker.id)
    with pytest.raises(Invalid) as excinfo:
        clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=13))
    assert "12 hours" in excinfo.value.message
    assert entry.id


def test_the_backdating_limit_is_a_location_setting(account, site, worker):
    locations.update_location(account.id, site.id, locations.LocationUpdate(
        settings=locations.LocationSettingsUpdate(max_backdate_hours=2)))
    with pytest.raises(Invalid):
        clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=3))


def test_a_clock_out_before_the_clock_in_is_refused(account, worker):
    clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=1))
    with pytest.raises(Invalid):
        clocking.clock_out(account.id, worker.id, timestamp=now() - dt.timedelta(hours=2))
    assert open_entries(worker.id) == 1


@pytest.mark.parametrize("break_ended", [True, False])
def test_a_clock_out_before_a_recorded_break_is_refused(account, worker, break_ended):
    # A backdated (or queued) clock-out must not leave a break outside its entry: the
    # entry read 0.0 hours, its break subtracted from time the worker had not clocked.
    clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=4))
    clocking.start_break(account.id, worker.id, timestamp=now() - dt.timedelta(hours=2))
    if break_ended:
        clocking.end_break(account.id, worker.id, timestamp=now() - dt.timedelta(hours=1))
    with pytest.raises(Invalid) as refused:
        clocking.clock_out(account.id, worker.id, timestamp=now() - dt.timedelta(hours=3))
    assert "break" in refused.value.message
    assert open_entries(worker.id) == 1
    # At the end of the break, or after it, the clock-out is taken.
    at = now() - dt.timedelta(hours=1 if break_ended else 2)
    closed = clocking.clock_out(account.id, worker.id, timestamp=at)
    assert closed.clock_out == at and closed.breaks[-1].end <= closed.clock_out


def test_a_backdated_clock_in_cannot_overlap_the_previous_entry(account, worker):
    clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=6))
    clocking.clock_out(account.id, worker.id, timestamp=now() - dt.timedelta(hours=2))
    with pytest.raises(Conflict) as excinfo:
        clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=3))
    assert excinfo.value.code == "entry_overlap"


def test_a_timestamp_without_offset_is_local_time_at_the_location(account, make_location,
                                                                   make_worker):
    warsaw = make_location(account.id, "Warsaw Hub", timezone="Europe/Warsaw",
                           latitude=52.3, longitude=21.0)
    w = make_worker(account.id, location_id=warsaw.id)
    moment = (now() - dt.timedelta(hours=1)).replace(microsecond=0)
    wall_clock_in_warsaw = moment.astimezone(ZoneInfo("Europe/Warsaw")).replace(tzinfo=None)
    entry = clocking.clock_in(account.id, w.id, timestamp=wall_clock_in_warsaw)
    assert entry.clock_in == moment


def test_clock_in_needs_a_location_when_the_worker_has_none(account, make_worker):
    w = make_worker(account.id)
    with pytest.raises(Invalid) as excinfo:
        clocking.clock_in(account.id, w.id)
    assert excinfo.value.field == "location_id"


def test_unknown_worker_and_location_are_not_found(account, site, worker):
    with pytest.raises(NotFound):
        clocking.clock_in(account.id, 999_999)
    with pytest.raises(NotFound):
        clocking.clock_in(account.id, worker.id, location_id=999_999)


# --- POST /clock bodies ------------------------------------------------------------


def test_a_clock_request_without_worker_is_missing_a_field(account):
    with pytest.raises(Invalid) as excinfo:
        clocking.clock(account.id, ClockRequest(action="in"))
    assert excinfo.value.message == "Missing required field: worker_id"


def test_a_clock_request_with_an_unknown_action_is_refused(account, worker):
    with pytest.raises(Invalid) as excinfo:
        clocking.clock(account.id, ClockRequest(worker_id=worker.id, action="lunch"))
    assert excinfo.value.code == "unknown_action"


def test_a_clock_request_dispatches_in_break_and_out(account, worker):
    start = now() - dt.timedelta(hours=5)
    clocking.clock(account.id, ClockRequest(worker_id=worker.id, action="in", timestamp=start))
    clocking.clock(account.id, ClockRequest(worker_id=worker.id, action="break_start",
                                            timestamp=start + dt.timedelta(hours=2)))
    clocking.clock(account.id, ClockRequest(worker_id=worker.id, action="break_end",
                                            timestamp=start + dt.timedelta(hours=2, minutes=30)))
    entry = clocking.clock(account.id, ClockRequest(worker_id=worker.id, action="out",
                                                    timestamp=start + dt.timedelta(hours=4)))
    assert entry.break_minutes == 30
    assert entry.total_hours == 3.5
    assert len(entry.breaks) == 1


# --- breaks ------------------------------------------------------------------------


def test_breaks_need_an_open_entry_and_cannot_nest(account, worker):
    with pytest.raises(Conflict) as excinfo:
        clocking.start_break(account.id, worker.id)
    assert excinfo.value.code == "not_clocked_in"
    clocking.clock_in(account.id, worker.id, timestamp=now() - dt.timedelta(hours=1))
    with pytest.raises(Conflict) as excinfo:
        clocking.end_break(account.id, worker.id)
    assert excinfo.value.code == "not_on_break"
    clocking.start_break(account.id, worker.id)
    with pytest.raises(Conflict) as excinfo:
        clocking.start_break(account.id, worker.id)
    assert excinfo.value.code == "already_on_break"


def test_clocking_out_ends_an_open_break_and_excludes_it_from_hours(account, worker):
    start = now() - dt.timedelta(hours=4)
    clocking.clock_in(account.id, worker.id, timestamp=start)
    clocking.start_break(account.id, worker.id, timestamp=start + dt.timedelta(hours=3))
    entry = clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=4))
    assert entry.breaks[0].end == entry.clock_out
    assert entry.break_minutes == 60
    assert entry.total_hours == 3.0
    assert entry == timesheets.get_entry(account.id, entry.id)  # as it was stored


# --- geofence ----------------------------------------------------------------------

CENTRE = (53.8008, -1.4436)
NEAR = Position(53.8010, -1.4440, 8.0)  # ~35 m away, a good fix
FAR = Position(53.8100, -1.4436, 8.0)  # 1,023 m north, a good fix
FAR_VAGUE = Position(53.8100, -1.4436, 500.0)  # ~1 km away, a poor fix


def _fenced(account, make_location, make_worker, mode):
    site = make_location(account.id, f"Fenced {mode}", latitude=CENTRE[0], longitude=CENTRE[1],
                         settings=locations.LocationSettings(geofence_mode=mode,
                                                             geofence_radius_m=200))
    return make_worker(account.id, location_id=site.id)


def test_haversine_matches_a_known_distance():
    # London to Paris is about 343.5 km as the crow flies.
    assert clocking.haversine_m(51.5074, -0.1278, 48.8566, 2.3522) == pytest.approx(343_500,
                                                                                    rel=0.005)


def test_geofence_off_records_distance_but_no_verdict(account, make_location, make_worker):
    w = _fenced(account, make_location, make_worker, "off")
    entry = clocking.clock_in(account.id, w.id, position=FAR)
    assert entry.distance_meters == pytest.approx(1023, abs=5)  # 0.0092° of latitude
    assert entry.within_geofence is None


def test_geofence_allow_records_outside_without_flagging(account, make_location, make_worker):
    w = _fenced(account, make_location, make_worker, "allow")
    entry = clocking.clock_in(account.id, w.id, position=FAR)
    assert entry.within_geofence is False
    assert "clock.geofence_breach" not in event_types(account.id)


def test_geofence_warn_records_and_flags_a_breach(account, make_location, make_worker):
    w = _fenced(account, make_location, make_worker, "warn")
    entry = clocking.clock_in(account.id, w.id, position=FAR)
    assert entry.within_geofence is False
    assert event_types(account.id)[-2:] == ["clock_in", "clock.geofence_breach"]


def test_geofence_block_refuses_outside_and_reports_the_refusal(account, make_location,
                                                                make_worker):
    w = _fenced(account, make_location, make_worker, "block")
    with pytest.raises(Forbidden) as excinfo:
        clocking.clock_in(account.id, w.id, position=FAR)
    assert excinfo.value.code == "geofence_refused"
    assert open_entries(w.id) == 0
    assert event_types(account.id)[-1] == "clock.geofence_refused"


def test_geofence_block_lets_a_worker_inside_clock_in(account, make_location, make_worker):
    w = _fenced(account, make_location, make_worker, "block")
    entry = clocking.clock_in(account.id, w.id, position=NEAR)
    assert entry.within_geofence is True
    assert entry.distance_meters < 200


def test_low_gps_accuracy_is_flagged_never_blocking(account, make_location, make_worker):
    w = _fenced(account, make_location, make_worker, "block")
    entry = clocking.clock_in(account.id, w.id, position=FAR_VAGUE)
    assert entry.low_gps_confidence is True
    assert entry.within_geofence is False
    assert "clock.low_gps_confidence" in event_types(account.id)


@pytest.mark.parametrize(
    "position",
    [Position(91.0, 0.0), Position(0.0, 181.0), Position(53.0, None), Position(53.0, 1.0, -5.0)],
)
def test_impossible_coordinates_are_refused(account, worker, position):
    with pytest.raises(Invalid):
        clocking.clock_in(account.id, worker.id, position=position)


# London's clocks go back at 02:00 BST on 25 October 2026: 01:00-02:00 is shown twice.
@pytest.mark.parametrize(("real_now", "meant"), [
    (dt.datetime(2026, 10, 25, 0, 35, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 0, 30)),  # BST
    (dt.datetime(2026, 10, 25, 1, 35, tzinfo=dt.UTC), dt.datetime(2026, 10, 25, 1, 30)),  # GMT
])
def test_a_kiosk_clocking_in_the_hour_shown_twice_is_read_as_the_one_just_past(
        account, worker, real_now, meant):
    with time_machine.travel(real_now, tick=False):
        entry = clocking.clock_in(account.id, worker.id,
                                  timestamp=dt.datetime(2026, 10, 25, 1, 30))  # wall clock
    assert entry.clock_in == meant.replace(tzinfo=dt.UTC)


def test_a_kiosk_wall_clock_time_the_clocks_skipped_is_refused(account, worker):
    # London's clocks went forward at 01:00 GMT on 29 March 2026: 01:30 never happened.
    with (time_machine.travel(dt.datetime(2026, 3, 29, 1, 40, tzinfo=dt.UTC), tick=False),
          pytest.raises(Invalid) as excinfo):
        clocking.clock_in(account.id, worker.id, timestamp=dt.datetime(2026, 3, 29, 1, 30))
    assert (excinfo.value.field, excinfo.value.code) == ("timestamp", "nonexistent_local_time")
