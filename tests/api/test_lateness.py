"""Who is late: shifts whose worker has not clocked in, and their events (once per shift)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
import time_machine

from tempclock.api.services import clocking, lateness, shifts, webhooks
from tempclock.api.services.names import EVENT_NAMES
from tempclock.api.store.models import Event


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def shift_for(account, site, worker, *, started_ago: dt.timedelta, hours: float = 8):
    start = now() - started_ago
    return shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start,
        end=start + dt.timedelta(hours=hours)))


def fired(kind: str) -> list[dict]:
    return [msgspec.json.decode(e.data) for e in
            Event.select().where(Event.type == kind).order_by(Event.id)]


def test_a_shift_past_its_grace_with_no_clock_in_is_late(account, site, worker):
    shift = shift_for(account, site, worker, started_ago=dt.timedelta(minutes=15))
    (late,) = lateness.expected_not_here(account.id)
    assert (late.shift_id, late.worker_id, late.location_id, late.status) == (
        shift.id, worker.id, site.id, "late")
    assert late.worker_name == f"{worker.first_name} {worker.last_name}"


def test_a_shift_within_its_grace_is_not_late_yet(account, site, worker):
    shift_for(account, site, worker, started_ago=dt.timedelta(minutes=5))
    assert lateness.expected_not_here(account.id) == []


def test_the_grace_is_the_sites_own(account, site, worker):
    assert lateness.grace_minutes(account.id, site.id) == 10
    lateness.set_grace_minutes(account.id, site.id, 30)
    assert lateness.grace_minutes(account.id, site.id) == 30
    shift_for(account, site, worker, started_ago=dt.timedelta(minutes=15))
    assert lateness.expected_not_here(account.id) == []


def test_a_worker_who_clocked_in_is_not_expected(account, site, worker):
    shift_for(account, site, worker, started_ago=dt.timedelta(minutes=20))
    clocking.clock_in(account.id, worker.id, location_id=site.id)
    assert lateness.expected_not_here(account.id) == []


def test_a_worker_still_clocked_in_from_earlier_is_not_late_for_the_next_shift(
        account, site, worker):
    # On site since three hours before the shift (a double shift, or in early): here.
    clocking.clock_in(account.id, worker.id, location_id=site.id,
                      timestamp=now() - dt.timedelta(hours=3))
    shift_for(account, site, worker, started_ago=dt.timedelta(minutes=20))
    assert lateness.expected_not_here(account.id) == []
    assert lateness.sweep() == 0
    assert lateness.sweep(now() + dt.timedelta(hours=9)) == 0  # nor missed when it ends


def test_a_worker_who_left_as_the_shift_began_or_forgot_to_clock_out_long_ago_is_late(
        account, site, worker, make_worker):
    # Clocked in since the morning, clocked out five minutes into this shift: gone home.
    clocking.clock_in(account.id, worker.id, location_id=site.id,
                      timestamp=now() - dt.timedelta(hours=5))
    clocking.clock_out(account.id, worker.id, timestamp=now() - dt.timedelta(minutes=15))
    left = shift_for(account, site, worker, started_ago=dt.timedelta(minutes=20))
    forgetful = make_worker(account.id, location_id=site.id)
    with time_machine.travel(now() - dt.timedelta(hours=30), tick=False):
        clocking.clock_in(account.id, forgetful.id, location_id=site.id)
    forgot = shift_for(account, site, forgetful, started_ago=dt.timedelta(minutes=20))
    assert {late.shift_id for late in lateness.expected_not_here(account.id)} == {
        left.id, forgot.id}


def test_a_shift_that_ended_without_a_clock_in_is_missed(account, site, worker):
    shift = shift_for(account, site, worker, started_ago=dt.timedelta(hours=5), hours=4)
    (missed,) = lateness.expected_not_here(account.id)
    assert (missed.shift_id, missed.status) == (shift.id, "missed")


def test_late_and_missed_fire_once_each_per_shift(account, site, worker):
    shift = shift_for(account, site, worker, started_ago=dt.timedelta(minutes=15), hours=1)
    assert lateness.sweep() == 1
    assert lateness.sweep() == 0
    assert [e["shift_id"] for e in fired("shift_late")] == [shift.id]
    # An hour on, the shift has ended: missed, once.
    later = now() + dt.timedelta(hours=1)
    assert lateness.sweep(later) == 1
    assert lateness.sweep(later) == 0
    assert [e["status"] for e in fired("shift_missed")] == ["missed"]
    assert len(fired("shift_late")) == 1


def test_a_shift_moved_or_given_to_another_worker_after_shift_late_is_announced_again(
        account, site, worker, make_worker):
    shift = shift_for(account, site, worker, started_ago=dt.timedelta(minutes=15), hours=1)
    assert lateness.sweep() == 1
    # Rescheduled for the afternoon: late again there, once, and missed at its new end.
    start = now() + dt.timedelta(hours=2)
    shifts.update_shift(account.id, shift.id, shifts.ShiftUpdate(
        start=start, end=start + dt.timedelta(hours=4)))
    assert lateness.sweep(start + dt.timedelta(minutes=20)) == 1
    assert lateness.sweep(start + dt.timedelta(minutes=30)) == 0
    # Handed to a colleague who does not come either: their lateness is told too.
    colleague = make_worker(account.id, "Bea", location_id=site.id)
    shifts.update_shift(account.id, shift.id, shifts.ShiftUpdate(worker_id=colleague.id))
    assert lateness.sweep(start + dt.timedelta(minutes=40)) == 1
    assert [(e["shift_id"], e["worker_id"], e["starts_at"][:16]) for e in fired("shift_late")] == [
        (shift.id, worker.id, shift.start.isoformat()[:16].replace("+00:00", "")),
        (shift.id, worker.id, start.isoformat()[:16]),
        (shift.id, colleague.id, start.isoformat()[:16])]
    # A change of notes is no new expectation: nothing fires again.
    shifts.update_shift(account.id, shift.id, shifts.ShiftUpdate(notes="bring boots"))
    assert lateness.sweep(start + dt.timedelta(minutes=50)) == 0
    assert lateness.sweep(start + dt.timedelta(hours=5)) == 1  # missed, once
    assert lateness.sweep(start + dt.timedelta(hours=5, minutes=1)) == 0


def test_another_accounts_shifts_are_not_on_the_board(account, other_account, make_location,
                                                       make_worker):
    rival_site = make_location(other_account.id, "Rival")
    rival = make_worker(other_account.id, location_id=rival_site.id)
    shift_for(other_account, rival_site, rival, started_ago=dt.timedelta(minutes=30))
    assert lateness.expected_not_here(account.id) == []
    assert len(lateness.expected_not_here(other_account.id)) == 1


def test_late_and_missed_are_webhook_events_with_names():
    for event in ("shift_late", "shift_missed"):
        assert event in webhooks.EVENTS and event in EVENT_NAMES
        assert webhooks.subscribed(["*"], event)


def test_grace_minutes_are_checked_and_kept_per_account(account, other_account, site,
                                                        make_location):
    from tempclock.api.services.errors import Invalid, NotFound

    rival_site = make_location(other_account.id, "Rival")
    for bad in (-1, 24 * 60 + 1, True, 1.5):
        with pytest.raises(Invalid):
            lateness.set_grace_minutes(account.id, site.id, bad)
    with pytest.raises(NotFound):
        lateness.set_grace_minutes(account.id, rival_site.id, 5)
    assert lateness.grace_minutes(other_account.id, rival_site.id) == 10
