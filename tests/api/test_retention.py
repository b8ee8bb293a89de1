"""Retention: API logs and finished webhook deliveries older than their account's setting are
pruned in small batches by the dispatcher, never a pending delivery, never blocking clocking."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine

from tempclock.api import dispatcher as dispatcher_module
from tempclock.api.dispatcher import Dispatcher
from tempclock.api.services import accounts, api_logs, clocking, kiosk, pins, retention
from tempclock.api.store.models import ApiLog as ApiLogRow
from tempclock.api.store.models import KioskPunch as KioskPunchRow
from tempclock.api.store.models import WebhookDelivery as DeliveryRow

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def log_entry(account_id: int | None, days_old: float, path: str) -> api_logs.ApiLogEntry:
    return api_logs.ApiLogEntry(
        created_at=NOW - dt.timedelta(days=days_old), account_id=account_id, key_id=None,
        key_name=None, key_prefix=None, method="GET", path=path, query="", status=200,
        duration_ms=1.0, client="127.0.0.1", user_agent="ats/1.0", request_id=path,
        error_code=None)


def delivery(account_id: int, days_old: float, state: str, name: str) -> dict:
    return {"account": account_id, "event_type": name, "state": state, "message_id": name,
            "created_at": (NOW - dt.timedelta(days=days_old)).replace(tzinfo=None)}


def kept_logs() -> set[str]:
    return {row.path for row in ApiLogRow.select(ApiLogRow.path)}


def kept_deliveries() -> set[str]:
    return {row.event_type for row in DeliveryRow.select(DeliveryRow.event_type)}


@pytest.fixture
def history(account, other_account):
    """Logs and deliveries of every age, for an account keeping 30 days and one keeping 90."""
    accounts.set_log_retention(account.id, 30)
    api_logs.write_logs([
        log_entry(account.id, 31, "a-31"), log_entry(account.id, 29, "a-29"),
        log_entry(other_account.id, 31, "b-31"), log_entry(other_account.id, 91, "b-91"),
        log_entry(None, 91, "unowned-91"), log_entry(None, 89, "unowned-89"),
    ])
    DeliveryRow.insert_many([
        delivery(account.id, 31, "delivered", "a-delivered-31"),
        delivery(account.id, 31, "failed", "a-failed-31"),
        delivery(account.id, 31, "pending", "a-pending-31"),
        delivery(account.id, 31, "sending", "a-sending-31"),
        delivery(account.id, 1, "delivered", "a-delivered-1"),
        delivery(other_account.id, 31, "delivered", "b-delivered-31"),
        delivery(other_account.id, 95, "failed", "b-failed-95"),
    ]).execute()


def test_logs_and_finished_deliveries_past_their_accounts_retention_are_pruned(history):
    pruned = retention.prune(NOW.replace(tzinfo=None))
    assert kept_logs() == {"a-29", "b-31", "unowned-89"}
    assert kept_deliveries() == {"a-pending-31", "a-sending-31", "a-delivered-1",
                                 "b-delivered-31"}
    assert (pruned.api_logs, pruned.deliveries) == (3, 3)
    assert retention.prune(NOW.replace(tzinfo=None)) == retention.Pruned()  # nothing left to do


def test_kiosk_punch_records_past_their_accounts_retention_are_pruned(account, site, worker):
    # The page sends every punch with a key, and each was kept for ever: a site's table of
    # punches grew by every punch of every worker, without end.
    accounts.set_log_retention(account.id, 30)
    pins.set_pin(account.id, worker.id, "2468")
    token = kiosk.create_link(account.id, site.id, "http://x").url.rsplit("/", 1)[1]
    with time_machine.travel(NOW - dt.timedelta(days=31), tick=False):
        kiosk.punch(token, "2468", "clock_in", idempotency_key="old-in")
        kiosk.punch(token, "2468", "clock_out", idempotency_key="old-out")
    kiosk.punch(token, "2468", "clock_in", idempotency_key="new-in")
    assert retention.prune(NOW.replace(tzinfo=None)).kiosk_punches == 2
    assert [row.idempotency_key for row in KioskPunchRow.select()] == ["new-in"]


def test_the_dispatcher_prunes_when_it_starts_and_hourly_after(history):
    dispatcher = Dispatcher(poll_interval=0.05)
    expected = {"a-29", "b-31", "unowned-89"}
    dispatcher.start()
    try:
        deadline = time.monotonic() + 10
        while kept_logs() != expected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    assert kept_logs() == expected
    assert "a-delivered-31" not in kept_deliveries()


class SteppedClock:
    """The dispatcher's `time` module, with a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def __getattr__(self, name: str):
        return getattr(time, name)


def test_the_dispatcher_prunes_again_once_an_hour_has_passed_and_not_before(
        account, history, monkeypatch):
    clock = SteppedClock()
    monkeypatch.setattr(dispatcher_module, "time", clock)
    dispatcher = Dispatcher()
    dispatcher.prune()  # the pass when it starts
    assert kept_logs() == {"a-29", "b-31", "unowned-89"}
    api_logs.write_logs([log_entry(account.id, 31, "a-31-written-later")])
    clock.now += 59 * 60
    dispatcher.prune()
    assert "a-31-written-later" in kept_logs()  # not an hour yet
    clock.now += 61
    dispatcher.prune()
    assert "a-31-written-later" not in kept_logs()
    api_logs.write_logs([log_entry(account.id, 31, "a-31-written-later-still")])
    clock.now += 30
    dispatcher.prune()
    assert "a-31-written-later-still" in kept_logs()  # the next hour counts from that pass


def test_clocking_never_waits_for_a_whole_backlog_to_be_pruned(account, site, worker):
    backlog = 12_000
    for _ in range(backlog // 2000):
        api_logs.write_logs([log_entry(account.id, 400, "old")] * 2000)
    outcome: dict[str, float] = {}

    def prune() -> None:
        started = time.perf_counter()
        outcome["deleted"] = retention.prune(batch=200, pause=0.005).api_logs
        outcome["took"] = time.perf_counter() - started

    pruning = threading.Thread(target=prune)
    pruning.start()
    waits = []
    clocked_in = False
    while pruning.is_alive():
        started = time.perf_counter()
        if clocked_in:
            clocking.clock_out(account.id, worker.id)
        else:
            clocking.clock_in(account.id, worker.id)
        clocked_in = not clocked_in
        waits.append(time.perf_counter() - started)
        time.sleep(0.01)  # requests arrive now and then, not back to back
    pruning.join()
    assert outcome["deleted"] == backlog
    assert len(waits) >= 5, f"only {len(waits)} clock actions while pruning ({outcome})"
    # Each clock action waited for a small batch or two, not for the pruning as a whole
    # (half of it: a loaded CI box with coverage once stretched one wait to 0.42 of it).
    assert max(waits) < outcome["took"] / 2, (max(waits), outcome)
    assert sorted(waits)[len(waits) // 2] < outcome["took"] / 8, (waits, outcome)
