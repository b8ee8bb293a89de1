"""Webhook and connector delivery: signed POSTs, retries with backoff, nothing lost on restart."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest

from tempclock.api.dispatcher import Dispatcher, sign
from tempclock.api.services import clocking, connectors, deliveries, webhooks, workers
from tempclock.api.store.models import WebhookDelivery
from tempclock.plugins import hookimpl
from tempclock.plugins.crm_push import CrmPush
from tempclock.plugins.manager import PluginHost
from tests.conftest import allow_internal_targets


@pytest.fixture(autouse=True)
def receivers_on_this_pc_allowed(account):
    """The receivers here are on loopback: the admin has allowed internal targets."""
    allow_internal_targets(account.id)


@pytest.fixture
def dispatcher():
    running = Dispatcher(senders=4, send_timeout=1.0)
    yield running
    running.stop()


def subscribe(account, receiver, events=("*",), path="/hook"):
    return webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url=receiver.url + path, events=list(events)))


def attempts(subscription_id: int) -> list[WebhookDelivery]:
    return list(WebhookDelivery.select().where(WebhookDelivery.subscription == subscription_id)
                .order_by(WebhookDelivery.id))


def test_an_event_is_posted_signed_to_its_subscriber(account, worker, receiver, dispatcher):
    hook = subscribe(account, receiver, ["clock_in"])
    entry = clocking.clock_in(account.id, worker.id)
    dispatcher.run_once()
    (request,) = receiver.wait_for(1)
    body = json.loads(request["body"])
    assert body["event"] == "clock_in"
    assert body["data"]["id"] == entry.id and body["data"]["worker_id"] == worker.id
    assert set(body) == {"id", "event", "created_at", "data"}
    headers = {k.lower(): v for k, v in request["headers"].items()}
    # `sign` is pinned to published vectors below; here the delivery carries its headers.
    expected = sign(hook.secret, headers["webhook-id"], int(headers["webhook-timestamp"]),
                    request["body"])
    assert headers["x-tempclock-signature"] == expected["X-TempClock-Signature"]
    assert headers["webhook-signature"] == expected["webhook-signature"]
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["x-tempclock-event"] == "clock_in"
    assert headers["x-tempclock-delivery"] == headers["webhook-id"]
    (attempt,) = attempts(hook.id)
    assert (attempt.state, attempt.status_code) == ("delivered", 200)


def test_signatures_match_the_standard_webhooks_published_example():
    """The example of the Standard Webhooks specification, written out: a receiver using any
    Standard Webhooks library accepts what we send."""
    headers = sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                   1614265330, b'{"test": 2432232314}')
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert headers["webhook-timestamp"] == "1614265330"
    # HMAC-SHA256 of the body keyed with the whole secret, as computed by
    # `openssl dgst -sha256 -hmac 'whsec_MfKQ...LaSw'` on the same body.
    assert headers["X-TempClock-Signature"] == (
        "sha256=80ec8a89ce3cd22133a1066caecb4d04fea7467657c8514d717ec42c38a5c94c")


def test_subscribers_get_only_the_events_they_chose(account, other_account, worker, receiver,
                                                    dispatcher, make_location, make_worker):
    clocks = subscribe(account, receiver, ["clock_in", "clock_out"], "/clocks")
    everything = subscribe(account, receiver, ["*"], "/all")
    breaches = subscribe(account, receiver, ["clock.geofence_breach"], "/breaches")
    paused = subscribe(account, receiver, ["*"], "/paused")
    webhooks.update_webhook(account.id, paused.id, webhooks.WebhookUpdate(active=False))
    allow_internal_targets(other_account.id)
    theirs = subscribe(other_account, receiver, ["*"], "/theirs")
    make_worker(other_account.id, "Tom", "Theirs")  # another agency's change
    clocking.clock_in(account.id, worker.id)
    workers.update_worker(account.id, worker.id, workers.WorkerUpdate(role="Picker"))
    dispatcher.run_once()
    got = {(r["path"], json.loads(r["body"])["event"]) for r in receiver.requests}
    assert got == {("/clocks", "clock_in"), ("/all", "clock_in"), ("/all", "worker_updated"),
                   ("/theirs", "worker_created")}
    assert attempts(breaches.id) == [] and attempts(paused.id) == []
    assert clocks.id and everything.id and theirs.id


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_id(account, worker, receiver,
                                                                    dispatcher):
    hook = subscribe(account, receiver)
    receiver.fail_next = 1
    clocking.clock_in(account.id, worker.id)
    dispatcher.run_once()
    first, retry = attempts(hook.id)
    assert (first.state, first.status_code, first.attempt) == ("failed", 503, 1)
    assert (retry.state, retry.attempt) == ("pending", 2)
    wait = retry.next_attempt_at - first.created_at
    assert dt.timedelta(seconds=20) < wait < dt.timedelta(seconds=40)
    dispatcher.run_once()
    assert len(receiver.requests) == 1  # not due yet
    WebhookDelivery.update(next_attempt_at=dt.datetime(2000, 1, 1)).where(
        WebhookDelivery.id == retry.id).execute()
    dispatcher.run_once()
    second = receiver.wait_for(2)[1]
    assert attempts(hook.id)[1].state == "delivered"
    ids = [r["headers"]["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[1]  # receivers can tell a retry from a new event
    assert second["body"] == receiver.requests[0]["body"]


def test_retries_stop_once_the_24_hour_window_has_passed(account, worker, receiver, dispatcher):
    hook = subscribe(account, receiver)
    receiver.status = 500
    clocking.clock_in(account.id, worker.id)
    dispatcher.fan_out()
    WebhookDelivery.update(first_attempt_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)
                           - dt.timedelta(hours=25)).execute()
    dispatcher.send_due(wait=True)
    (only,) = attempts(hook.id)
    assert only.state == "failed" and only.next_attempt_at is None


def test_backoff_doubles_from_30_seconds_to_an_hour_with_jitter():
    rng = random.Random(7)
    for attempt, base in [(1, 30), (2, 60), (3, 120), (8, 3600), (20, 3600)]:
        wait = deliveries.backoff(attempt, rng).total_seconds()
        assert 0.8 * base <= wait <= 1.2 * base


def test_undelivered_work_resumes_after_a_restart(account, worker, receiver):
    hook = subscribe(account, receiver)
    first = Dispatcher(senders=2)
    first.fan_out()
    clocking.clock_in(account.id, worker.id)
    first.fan_out()  # queued, then the host stops before sending
    first.stop()
    clocking.clock_out(account.id, worker.id)  # a change while nothing was running
    second = Dispatcher(senders=2)
    try:
        second.run_once()
    finally:
        second.stop()
    events = [json.loads(r["body"])["event"] for r in receiver.wait_for(2)]
    assert sorted(events) == ["clock_in", "clock_out"]
    assert {a.state for a in attempts(hook.id)} == {"delivered"}


def test_a_slow_receiver_times_out_without_holding_up_the_others(account, worker, receiver,
                                                                 dispatcher):
    from tests.conftest import Receiver

    slow = Receiver()
    slow.delay = 3.0
    try:
        stuck = subscribe(account, slow, path="/slow")
        fine = subscribe(account, receiver, path="/fine")
        clocking.clock_in(account.id, worker.id)
        dispatcher.run_once()
        assert attempts(fine.id)[0].state == "delivered"
        failed = attempts(stuck.id)[0]
        assert failed.state == "failed" and "Timeout" in failed.error
    finally:
        slow.close()


def test_a_ping_reaches_its_one_subscription(account, receiver, dispatcher):
    hook = subscribe(account, receiver, ["clock_in"])
    subscribe(account, receiver, ["*"], "/other")
    webhooks.ping_webhook(account.id, hook.id)
    dispatcher.run_once()
    (request,) = receiver.wait_for(1)
    assert (request["path"], json.loads(request["body"])["event"]) == ("/hook", "ping")


def test_a_delivery_can_be_sent_again(account, worker, receiver, dispatcher):
    hook = subscribe(account, receiver)
    clocking.clock_in(account.id, worker.id)
    dispatcher.run_once()
    again = deliveries.redeliver(account.id, attempts(hook.id)[0].id)
    assert again.state == "pending"
    dispatcher.run_once()
    assert len(receiver.wait_for(2)) == 2


# --- connectors and plugin hooks ---------------------------------------------------------


def test_crm_push_sends_chosen_events_with_the_field_mapping(account, worker, receiver):
    crm = CrmPush()
    host = PluginHost()
    host.add_plugin(__import__("tempclock.plugins.crm_push", fromlist=["x"]), "crm_push")
    connectors.save_settings(account.id, crm, {
        "url": receiver.url + "/crm", "events": "worker_updated",
        "mapping": "externalId=employee_ref; fullName=first_name; site=assignment.location_name",
        "authorization": "Bearer crm-token"})
    connectors.set_enabled(account.id, crm, True)
    dispatcher = Dispatcher(plugins=host, senders=2)
    try:
        dispatcher.run_once()  # nothing yet
        workers.update_worker(account.id, worker.id, workers.WorkerUpdate(first_name="Anna"))
        clocking.clock_in(account.id, worker.id)  # not chosen: not sent
        dispatcher.run_once()
    finally:
        dispatcher.stop()
    (request,) = receiver.wait_for(1)
    assert json.loads(request["body"]) == {"externalId": worker.employee_ref,
                                           "fullName": "Anna", "site": worker.location_name}
    assert request["headers"]["Authorization"] == "Bearer crm-token"
    (delivery,) = deliveries.list_deliveries(account.id, connector="crm-push")
    assert delivery.state == "delivered"


def test_plugin_hooks_hear_events_and_a_failing_one_stops_nothing(account, worker, receiver):
    heard = []

    class Listener:
        @hookimpl
        def clock_in(self, event, context):
            heard.append((event.type, event.data["worker_id"], context.account_id))

    class Broken:
        @hookimpl
        def clock_in(self, event, context):
            raise RuntimeError("plugin bug")

    host = PluginHost()
    host.add_plugin(Broken(), "broken")
    host.add_plugin(Listener(), "listener")
    subscribe(account, receiver, ["clock_in"])
    dispatcher = Dispatcher(plugins=host, senders=2)
    try:
        clocking.clock_in(account.id, worker.id)
        dispatcher.run_once()
    finally:
        dispatcher.stop()
    assert heard == [("clock_in", worker.id, account.id)]
    assert [(p.plugin, p.stage) for p in host.problems] == [("broken", "clock_in")]
    assert len(receiver.wait_for(1)) == 1


def test_a_connector_switched_on_while_the_dispatcher_runs_hears_the_very_next_event(
        account, worker, receiver):
    crm = CrmPush()
    host = PluginHost()
    host.add_plugin(__import__("tempclock.plugins.crm_push", fromlist=["x"]), "crm_push")
    connectors.save_settings(account.id, crm, {"url": receiver.url + "/crm",
                                               "events": "worker_updated"})
    dispatcher = Dispatcher(plugins=host, senders=2)
    try:
        workers.update_worker(account.id, worker.id, workers.WorkerUpdate(role="Off"))
        dispatcher.run_once()  # the account's events are read while the connector is off
        connectors.set_enabled(account.id, crm, True)
        workers.update_worker(account.id, worker.id, workers.WorkerUpdate(role="On"))
        dispatcher.run_once()  # a moment later: nothing the dispatcher remembers may hide it
    finally:
        dispatcher.stop()
    (request,) = receiver.wait_for(1)
    assert json.loads(request["body"])["data"]["role"] == "On"


def test_a_connector_switched_on_later_hears_only_what_happens_from_then_on(account, worker,
                                                                           receiver):
    crm = CrmPush()
    host = PluginHost()
    host.add_plugin(__import__("tempclock.plugins.crm_push", fromlist=["x"]), "crm_push")
    workers.update_worker(account.id, worker.id, workers.WorkerUpdate(role="Before"))
    connectors.save_settings(account.id, crm, {"url": receiver.url + "/crm",
                                               "events": "worker_updated"})
    connectors.set_enabled(account.id, crm, True)
    workers.update_worker(account.id, worker.id, workers.WorkerUpdate(role="After"))
    dispatcher = Dispatcher(plugins=host, senders=2)
    try:
        dispatcher.run_once()
    finally:
        dispatcher.stop()
    (request,) = receiver.wait_for(1)
    assert json.loads(request["body"])["data"]["role"] == "After"


def test_a_connector_cannot_deliver_where_the_egress_policy_refuses(account, receiver):
    from tempclock.api.services import accounts

    context = connectors.AccountContext(account.id, connector_id="crm-push")
    for url in ("https://169.254.169.254/latest/meta-data/", "https://xn--/", "ftp://x/",
                "https://[::ffff:169.254.169.254]/", "http://2130706433/"):
        with pytest.raises(ValueError, match="internal address not allowed|url"):
            context.deliver(url, {"a": 1})
    context.deliver(receiver.url + "/crm", {"a": 1})  # allowed for this account
    accounts.allow_internal_targets(account.id, False, by="tests (admin)")
    with pytest.raises(ValueError, match="internal address not allowed"):
        context.deliver(receiver.url + "/crm", {"a": 2})
    assert len(deliveries.list_deliveries(account.id, connector="crm-push")) == 1
