"""Shift rules: sensible length, no double booking, no inactive workers, local times."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import shifts, workers
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.services.shifts import ShiftCreate, ShiftFilter, ShiftUpdate

T0 = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


def create(account, site, worker=None, start=T0, hours=8.0, **fields):
    return shifts.create_shift(account.id, ShiftCreate(
        location_id=site.id, worker_id=worker.id if worker else None, start=start,
        end=start + dt.timedelta(hours=hours), **fields))


def test_a_shift_with_a_worker_is_scheduled(account, site, worker):
    shift = create(account, site, worker)
    assert shift.status == "scheduled"
    assert shift.worker_name == "Ann Nowak"
    assert shift.location_name == site.name
    assert shift.end - shift.start == dt.timedelta(hours=8)


def test_a_shift_without_a_worker_is_open(account, site):
    assert create(account, site).status == "open"


def test_the_end_must_be_after_the_start(account, site, worker):
    with pytest.raises(Invalid) as excinfo:
        create(account, site, worker, hours=0)
    assert excinfo.value.field == "end"
    with pytest.raises(Invalid):
        create(account, site, worker, hours=-2)


def test_a_shift_is_at_most_24_hours(account, site, worker):
    assert create(account, site, worker, hours=24).status == "scheduled"
    with pytest.raises(Invalid) as excinfo:
        create(account, site, worker, start=T0 + dt.timedelta(days=2), hours=24.5)
    assert "24 hours" in excinfo.value.message


def test_a_worker_cannot_hold_two_overlapping_shifts(account, site, worker):
    first = create(account, site, worker)
    with pytest.raises(Conflict) as excinfo:
        create(account, site, worker, start=T0 + dt.timedelta(hours=7))
    assert excinfo.value.code == "shift_overlap"
    assert excinfo.value.details["shift_id"] == first.id


def test_back_to_back_shifts_do_not_overlap(account, site, worker):
    create(account, site, worker)
    assert create(account, site, worker, start=T0 + dt.timedelta(hours=8)).status == "scheduled"


def test_two_workers_may_share_the_same_hours(account, site, worker, make_worker):
    create(account, site, worker)
    other = make_worker(account.id, "Bob", "Smith")
    assert create(account, site, other).worker_id == other.id


def test_a_cancelled_shift_frees_the_time(account, site, worker):
    first = create(account, site, worker)
    assert shifts.cancel_shift(account.id, first.id).status == "cancelled"
    assert create(account, site, worker).status == "scheduled"


def test_moving_a_shift_onto_another_is_refused(account, site, worker):
    create(account, site, worker)
    later = create(account, site, worker, start=T0 + dt.timedelta(hours=10))
    with pytest.raises(Conflict):
        shifts.update_shift(account.id, later.id, ShiftUpdate(start=T0 + dt.timedelta(hours=4),
                                                              end=T0 + dt.timedelta(hours=12)))


def test_an_inactive_worker_cannot_be_scheduled(account, site, worker):
    workers.deactivate_worker(account.id, worker.id)
    with pytest.raises(Conflict) as excinfo:
        create(account, site, worker)
    assert excinfo.value.code == "worker_inactive"


def test_missing_fields_are_named(account, site):
    with pytest.raises(Invalid) as excinfo:
        shifts.create_shift(account.id, ShiftCreate(location_id=site.id, start=T0))
    assert excinfo.value.message == "Missing required field: end"
    with pytest.raises(Invalid) as excinfo:
        shifts.create_shift(account.id, ShiftCreate(start=T0, end=T0))
    assert excinfo.value.message == "Missing required field: location_id"


def test_times_without_offset_are_local_at_the_location(account, make_location, worker):
    warsaw = make_location(account.id, "Warsaw", timezone="Europe/Warsaw")
    shift = shifts.create_shift(account.id, ShiftCreate(
        location_id=warsaw.id, start=dt.datetime(2026, 7, 1, 22, 0),
        end=dt.datetime(2026, 7, 2, 6, 0)))
    assert shift.start == dt.datetime(2026, 7, 1, 20, 0, tzinfo=dt.UTC)  # CEST is UTC+2


def test_date_filters_use_the_local_start_date_at_the_location(account, make_location):
    tokyo = make_location(account.id, "Tokyo", timezone="Asia/Tokyo")
    # 16:00 UTC on 1 July is 01:00 on 2 July in Tokyo.
    shift = shifts.create_shift(account.id, ShiftCreate(
        location_id=tokyo.id, start=dt.datetime(2026, 7, 1, 16, 0, tzinfo=dt.UTC),
        end=dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC)))
    on = lambda day: [s.id for s in shifts.list_shifts(  # noqa: E731
        account.id, ShiftFilter(date_from=day, date_to=day)).data]
    assert on(dt.date(2026, 7, 2)) == [shift.id]
    assert on(dt.date(2026, 7, 1)) == []


def test_list_filters_by_worker_location_and_status(account, site, worker, make_location):
    other_site = make_location(account.id, "Other")
    mine = create(account, site, worker)
    open_one = create(account, other_site)
    ids = lambda **f: [s.id for s in shifts.list_shifts(account.id, ShiftFilter(**f)).data]  # noqa: E731
    assert ids(worker_id=worker.id) == [mine.id]
    assert ids(location_id=other_site.id) == [open_one.id]
    assert ids(status="open") == [open_one.id]
    with pytest.raises(Invalid):
        ids(status="maybe")
