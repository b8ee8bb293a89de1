"""Every hook of `plugins/hookspecs.py`, called for real: a change made through the services,
delivered by the dispatcher to a plugin registered for the test."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.dispatcher import Dispatcher
from tempclock.api.services import clocking, shifts, workers
from tempclock.plugins import Connector, hookimpl
from tempclock.plugins.manager import PluginHost


class Recorder:
    """A plugin implementing every event hook; it writes down what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, dict, int]] = []

    def _note(self, event, context):
        self.heard.append((event.type, dict(event.data), context.account_id))

    @hookimpl
    def clock_in(self, event, context):
        self._note(event, context)

    @hookimpl
    def clock_out(self, event, context):
        self._note(event, context)

    @hookimpl
    def worker_created(self, event, context):
        self._note(event, context)

    @hookimpl
    def worker_updated(self, event, context):
        self._note(event, context)

    @hookimpl
    def shift_created(self, event, context):
        self._note(event, context)


@pytest.fixture
def recorder(store):
    plugin = Recorder()
    host = PluginHost()
    host.add_plugin(plugin, "recorder")
    dispatcher = Dispatcher(plugins=host, senders=1)
    dispatcher.run_once()  # start after what the fixtures created
    plugin.heard.clear()
    plugin.dispatch = dispatcher.run_once
    try:
        yield plugin
    finally:
        host.remove_plugin("recorder")
        dispatcher.stop()


def test_hook_register_connectors():
    class Roster(Connector):
        id = "roster"
        name = "Roster"
        kind = "ats"
        capabilities = frozenset({"import_workers"})

        def run(self, context):
            pass

    class Plugin:
        @hookimpl
        def register_connectors(self, register):
            register(Roster())

    host = PluginHost()
    try:
        host.add_plugin(Plugin(), "roster-plugin")
        assert host.connector("roster").plugin == "roster-plugin"
    finally:
        host.close()


def test_hook_clock_in(account, worker, recorder):
    entry = clocking.clock_in(account.id, worker.id)
    recorder.dispatch()
    assert [(t, d["id"], a) for t, d, a in recorder.heard] == [("clock_in", entry.id, account.id)]


def test_hook_clock_out(account, worker, recorder):
    clocking.clock_in(account.id, worker.id, timestamp=dt.datetime.now(dt.UTC)
                      - dt.timedelta(hours=2))
    closed = clocking.clock_out(account.id, worker.id)
    recorder.dispatch()
    assert recorder.heard[-1][0] == "clock_out"
    assert recorder.heard[-1][1]["total_hours"] == closed.total_hours == 2.0


def test_hook_worker_created(account, recorder, make_worker):
    made = make_worker(account.id, "Zoe", "Kowalska")
    recorder.dispatch()
    assert [(t, d["id"]) for t, d, _ in recorder.heard] == [("worker_created", made.id)]


def test_hook_worker_updated(account, worker, recorder):
    workers.deactivate_worker(account.id, worker.id)
    recorder.dispatch()
    assert [(t, d["active"]) for t, d, _ in recorder.heard] == [("worker_updated", False)]


def test_hook_shift_created(account, site, recorder):
    start = dt.datetime(2026, 3, 10, 6, tzinfo=dt.UTC)
    shift = shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, start=start, end=start + dt.timedelta(hours=8)))
    recorder.dispatch()
    assert [(t, d["id"], d["status"]) for t, d, _ in recorder.heard] == [
        ("shift_created", shift.id, "open")]
