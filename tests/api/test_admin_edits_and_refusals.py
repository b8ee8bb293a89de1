"""Small edits and refusals of the services the desktop's panels and the API call: each edit
changes only what it names, and each refusal says which field is wrong and stores nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from tempclock.api.services import (
    accounts,
    api_logs,
    cost_codes,
    deliveries,
    departments,
    events,
    idempotency,
    retention,
    shifts,
    timesheets,
    webhooks,
    workers,
)
from tempclock.api.services.errors import Conflict, Invalid


def refused(call, error=Invalid):
    with pytest.raises(error) as caught:
        call()
    return caught.value


def test_the_event_feed_refuses_a_page_size_or_a_start_out_of_range(account, worker):
    assert refused(lambda: events.list_events(account.id, events.EventFilter(limit=0))).field \
        == "limit"
    assert refused(lambda: events.list_events(
        account.id, events.EventFilter(limit=events.MAX_LIMIT + 1))).field == "limit"
    assert refused(lambda: events.list_events(account.id, events.EventFilter(after_id=-1))).field \
        == "after_id"
    assert events.list_events(account.id).data  # the worker's creation is there


def test_a_repeat_of_a_request_still_running_is_told_to_retry_shortly(account):
    digest = idempotency.fingerprint("createWorker", b'{"first_name": "Ann"}')
    begin = lambda: idempotency.begin(account.id, "import-42", method="POST",  # noqa: E731
                                      path="/api/v1/workers", request_hash=digest)
    assert begin() is None  # the first reserves the key
    conflict = refused(begin, Conflict)
    assert conflict.code == "idempotency_key_in_progress"
    idempotency.complete(account.id, "import-42", 201, b'{"id": 1}')
    assert begin() == idempotency.StoredResponse(201, b'{"id": 1}')


def test_an_account_cannot_take_another_accounts_name(account, other_account):
    conflict = refused(lambda: accounts.rename_account(other_account.id, "Acme Staffing"),
                       Conflict)
    assert conflict.code == "duplicate_account_name"
    assert accounts.get_account(other_account.id).name == "Rival Recruitment"


@pytest.mark.parametrize("days", [0, 3651, "30"])
def test_log_retention_outside_1_to_3650_days_is_refused(account, days):
    assert refused(lambda: accounts.set_log_retention(account.id, days)).field \
        == "log_retention_days"
    assert accounts.set_log_retention(account.id, 90).log_retention_days == 90


@pytest.fixture
def hook(account):
    accounts.allow_internal_targets(account.id, True, by="tests (admin)")  # a receiver here
    return webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url="http://127.0.0.1:9/hooks", events=["worker_created", "worker_created"]))


def test_a_webhook_lists_each_event_once_and_must_name_one(account, hook):
    assert hook.events == ["worker_created"]
    assert refused(lambda: webhooks.update_webhook(account.id, hook.id, webhooks.WebhookUpdate(
        events=[]))).field == "events"
    paused = webhooks.update_webhook(account.id, hook.id, webhooks.WebhookUpdate(active=False))
    assert (paused.active, paused.events) == (False, ["worker_created"])
    renamed = webhooks.update_webhook(account.id, hook.id, webhooks.WebhookUpdate(
        description="ATS sync"))
    assert (renamed.active, renamed.description) == (False, "ATS sync")


def test_deliveries_are_listed_per_subscription_and_a_queued_one_is_not_sent_twice(
        account, hook):
    other = webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url="http://127.0.0.1:9/other"))
    ping = webhooks.ping_webhook(account.id, hook.id)
    webhooks.ping_webhook(account.id, other.id)
    shown = deliveries.list_deliveries(account.id, subscription_id=hook.id)
    assert [(d.id, d.subscription_id, d.state) for d in shown] == [
        (ping.delivery_id, hook.id, "pending")]
    conflict = refused(lambda: deliveries.redeliver(account.id, ping.delivery_id), Conflict)
    assert conflict.code == "delivery_queued"
    assert len(deliveries.list_deliveries(account.id)) == 2
    assert refused(lambda: deliveries.list_deliveries(account.id, limit=0)).field == "limit"


def test_renaming_a_department_or_cost_code_leaves_it_active(account):
    dept = departments.create_department(account.id, departments.DepartmentCreate(name="Goods"))
    renamed = departments.update_department(account.id, dept.id, departments.DepartmentUpdate(
        name="Goods In"))
    assert (renamed.name, renamed.active) == ("Goods In", True)
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code="GI",
                                                                             name="Goods"))
    recoded = cost_codes.update_cost_code(account.id, code.id, cost_codes.CostCodeUpdate(
        name="Goods In"))
    assert (recoded.code, recoded.name, recoded.active) == ("GI", "Goods In", True)


def test_a_timesheet_period_ending_before_it_starts_is_refused(account, worker):
    params = timesheets.TimeEntryFilter(date_from=dt.date(2026, 3, 8),
                                        date_to=dt.date(2026, 3, 2))
    assert refused(lambda: timesheets.list_entries(account.id, params)).field == "date_to"
    empty = timesheets.TimeEntryFilter(date_from=dt.date(2026, 3, 2), date_to=dt.date(2026, 3, 8))
    assert timesheets.list_entries(account.id, empty).data == []


def test_a_shift_whose_break_fills_it_is_refused_and_one_end_moves_alone(account, site, worker):
    start = dt.datetime(2026, 12, 20, 8, tzinfo=dt.UTC)
    assert refused(lambda: shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start,
        end=start + dt.timedelta(hours=1), break_minutes=60))).field == "break_minutes"
    shift = shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start, end=start + dt.timedelta(hours=8)))
    moved = shifts.update_shift(account.id, shift.id, shifts.ShiftUpdate(
        end=start + dt.timedelta(hours=6)))
    assert (moved.start, moved.end) == (start, start + dt.timedelta(hours=6))


def test_an_import_reports_a_missing_or_repeated_reference_per_row_and_saves_the_rest(account):
    results = workers.upsert_workers(account.id, [
        workers.WorkerUpdate(first_name="Ann", last_name="Nowak", employee_ref="A1"),
        workers.WorkerUpdate(first_name="No", last_name="Ref"),
        workers.WorkerUpdate(first_name="Ann", last_name="Again", employee_ref="A1"),
        workers.WorkerUpdate(first_name="Bo", last_name="Berg", employee_ref="B1")])
    assert [r.outcome for r in results] == ["created", "error", "error", "created"]
    assert results[1].error.field == "employee_ref"
    assert results[2].error.code == "duplicate_employee_ref"
    assert sorted((w.employee_ref, w.last_name) for w in workers.list_workers(account.id).data) \
        == [("A1", "Nowak"), ("B1", "Berg")]


def test_pruning_told_to_stop_as_the_app_closes_deletes_nothing_until_run_again(account):
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    api_logs.write_logs([api_logs.ApiLogEntry(
        created_at=old, account_id=account.id, key_id=None, key_name=None, key_prefix=None,
        method="GET", path="/api/v1/workers", query="", status=200, duration_ms=1.0,
        client="10.0.0.9", user_agent="ats", request_id="old", error_code=None)])
    closing = threading.Event()
    closing.set()
    assert retention.prune(stop=closing) == retention.Pruned()
    assert [log.request_id for log in api_logs.list_logs()] == ["old"]
    assert retention.prune().api_logs == 1
    assert api_logs.list_logs() == []
