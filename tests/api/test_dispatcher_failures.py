"""The running dispatcher survives what goes wrong around it: a store it cannot read for a
while, and a connector that raises on an event."""

from __future__ import annotations

import json
import logging
import threading

from store_faults import table_away
from waiting import WAIT_S, wait_until

from tempclock.api.dispatcher import Dispatcher
from tempclock.api.services import clocking, connectors, webhooks
from tempclock.plugins import Connector, Setting, hookimpl
from tempclock.plugins.manager import PluginHost
from tests.conftest import allow_internal_targets


class Heard:
    """A hook plugin that notes the id of every clock-in it hears."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.lock = threading.Lock()

    @hookimpl
    def clock_in(self, event, context):
        with self.lock:
            self.ids.append(event.data["id"])


def test_passes_that_fail_while_the_store_is_unreadable_are_logged_and_the_event_arrives_after(
        account, worker, receiver, caplog):
    allow_internal_targets(account.id)
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(url=receiver.url + "/hook",
                                                               events=["clock_in"]))
    entry = clocking.clock_in(account.id, worker.id)
    listener = Heard()
    host = PluginHost(hook_timeout=10.0)
    host.add_plugin(listener, "listener")
    dispatcher = Dispatcher(plugins=host, senders=2, poll_interval=0.05)
    failed = ("dispatcher fan-out pass failed", "plugin listener: a pass failed")
    with caplog.at_level(logging.ERROR):
        try:
            with table_away("event"):  # the outbox cannot be read
                dispatcher.start()
                assert wait_until(lambda: all(
                    any(r.getMessage() == message for r in caplog.records)
                    for message in failed)), [r.getMessage() for r in caplog.records]
                assert receiver.requests == [] and listener.ids == []
            # The store is back: the same loops, still running, deliver what was waiting.
            requests = receiver.wait_for(1, timeout=WAIT_S)
            assert wait_until(lambda: listener.ids == [entry.id])
        finally:
            dispatcher.stop()
    assert [json.loads(r["body"])["data"]["id"] for r in requests] == [entry.id]
    failure = next(r for r in caplog.records if r.getMessage() == failed[0])
    assert failure.exc_info is not None  # logged with its traceback, for whoever reads the log


class Raising(Connector):
    """A CRM connector whose receive_event fails on every event."""

    id = "raising-crm"
    name = "Raising CRM"
    kind = "crm"
    capabilities = frozenset({"receive_events"})
    events = ("clock_in", "clock_out")

    def __init__(self) -> None:
        self.calls: list[int] = []

    def receive_event(self, event, context):
        self.calls.append(event.id)
        raise ConnectionResetError("CRM closed the connection")


class RaisingPlugin:
    def __init__(self, connector: Raising) -> None:
        self.connector = connector

    @hookimpl
    def register_connectors(self, register):
        register(self.connector)


def test_a_connector_raising_in_receive_event_is_recorded_once_per_event_and_stops_no_one(
        account, worker):
    raising, listener = Raising(), Heard()
    host = PluginHost(hook_timeout=10.0)
    host.add_plugin(RaisingPlugin(raising), "raising")
    host.add_plugin(listener, "listener")
    connectors.set_enabled(account.id, raising, True)
    dispatcher = Dispatcher(plugins=host, senders=1, poll_interval=0.05)
    dispatcher.start()
    try:
        first = clocking.clock_in(account.id, worker.id)
        assert wait_until(lambda: listener.ids == [first.id] and len(raising.calls) == 1)
        clocking.clock_out(account.id, worker.id)
        second = clocking.clock_in(account.id, worker.id)
        # The loop kept running: both plugins hear the next events too.
        assert wait_until(lambda: listener.ids == [first.id, second.id]
                          and len(raising.calls) == 3)
        # Passes after the failures: the next event handed over is the next one, never
        # a failed event again.
        clocking.clock_out(account.id, worker.id)
        assert wait_until(lambda: len(raising.calls) >= 4)
    finally:
        dispatcher.stop()
    assert len(raising.calls) == len(set(raising.calls)) == 4
    problems = [(p.plugin, p.stage, p.message) for p in host.problems]
    assert problems == [("raising", "receive_event", "connector 'raising-crm' raised "
                         "ConnectionResetError: CRM closed the connection")] * 4


class Recording(Connector):
    """A CRM connector that keeps the settings it was handed with each event."""

    id = "acme-crm"
    name = "Acme CRM"
    kind = "crm"
    capabilities = frozenset({"receive_events"})
    events = ("clock_in",)
    settings = (Setting("token", "API token", type="secret"),)

    def __init__(self) -> None:
        self.handed: list[dict] = []

    def receive_event(self, event, context):
        self.handed.append(dict(context.settings))


def test_a_connector_of_another_package_under_a_known_id_never_gets_the_saved_settings(
        account, worker):
    original, copycat = Recording(), Recording()
    first = PluginHost()
    first.add_plugin(RaisingPlugin(original), "acme", package="acme-crm")
    connectors.save_settings(account.id, original, {"token": "s3cret-token"})
    connectors.set_enabled(account.id, original, True)
    first.close()
    # The original package is gone; another one registers the same connector id.
    host = PluginHost()
    host.add_plugin(RaisingPlugin(copycat), "acme", package="acme-crm-copycat")
    dispatcher = Dispatcher(plugins=host, senders=1)
    try:
        clocking.clock_in(account.id, worker.id)
        dispatcher.run_once()
    finally:
        dispatcher.stop()
    assert copycat.handed == []
    # Named on every event of the account since (the events it wants are in those settings).
    assert host.problems and {(p.plugin, p.stage, p.package, p.message) for p in host.problems} == {
        ("acme", "receive_event", "acme-crm-copycat",
         "The saved settings of connector 'acme-crm' belong to package 'acme-crm', not to "
         "'acme-crm-copycat'; they are not handed to it")}
