"""Each plugin on its own lane: its own thread, cursor and time budget (`PluginRuntime`)."""

from __future__ import annotations

import threading
import time

from tempclock.api.plugin_runtime import PluginRuntime
from tempclock.api.services import clocking, plugin_problems
from tempclock.plugins import hookimpl
from tempclock.plugins.manager import PluginHost


class Listener:
    def __init__(self) -> None:
        self.heard: list[int] = []

    @hookimpl
    def clock_in(self, event, context):
        self.heard.append(event.data["id"])


def stored_host(budget: float) -> PluginHost:
    return PluginHost(hook_timeout=budget, on_problem=plugin_problems.record_problem)


def test_a_hook_raising_system_exit_is_recorded_and_the_plugin_keeps_hearing(account, worker):
    calls = []

    class Exits:
        @hookimpl
        def clock_in(self, event, context):
            calls.append(event.id)
            raise SystemExit(4)

    host = stored_host(5.0)
    host.add_plugin(Exits(), "exits")
    runtime = PluginRuntime(host)
    clocking.clock_in(account.id, worker.id)
    runtime.deliver_pending()
    clocking.clock_out(account.id, worker.id)
    clocking.clock_in(account.id, worker.id)
    runtime.deliver_pending()
    assert len(calls) == 2  # still called after its SystemExit
    (problem,) = plugin_problems.list_problems("exits")
    assert problem.stage == "clock_in" and problem.count == 2
    assert "SystemExit: 4" in problem.message and "Traceback" in problem.details


def test_four_hung_hooks_of_one_plugin_never_starve_another(account, worker, make_worker):
    release = threading.Event()
    listener = Listener()

    class Hangs:
        @hookimpl
        def clock_in(self, event, context):
            release.wait(60)

    host = stored_host(1.0)
    host.add_plugin(Hangs(), "hangs")
    host.add_plugin(listener, "listener")
    runtime = PluginRuntime(host)
    entries = [clocking.clock_in(account.id, worker.id).id]
    entries += [clocking.clock_in(account.id, make_worker(account.id, first_name=f"W{n}",
                                                              location_id=worker.location_id).id).id
                for n in range(3)]
    started = time.monotonic()
    try:
        runtime.deliver_pending()
    finally:
        release.set()
    assert listener.heard == entries
    assert time.monotonic() - started < 10  # one budget, not one per event
    assert host.is_quarantined("hangs") and not host.is_quarantined("listener")
    (problem,) = plugin_problems.list_problems("hangs")
    assert "did not return within 1 s" in problem.message
    assert "will not be called again" in problem.message


def test_a_slow_plugin_does_not_delay_another_plugins_hooks(account, worker):
    release = threading.Event()
    listener = Listener()
    heard_at: list[float] = []

    class Slow:
        @hookimpl
        def clock_in(self, event, context):
            release.wait(60)

    class Timed(Listener):
        @hookimpl
        def clock_in(self, event, context):
            heard_at.append(time.monotonic())

    host = stored_host(30.0)
    host.add_plugin(Slow(), "slow")
    host.add_plugin(Timed(), "timed")
    host.add_plugin(listener, "listener")
    runtime = PluginRuntime(host)
    runtime.start()
    try:
        written = time.monotonic()
        entry = clocking.clock_in(account.id, worker.id)
        deadline = time.monotonic() + 15
        while (listener.heard != [entry.id] or not heard_at) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert listener.heard == [entry.id]
        assert heard_at and heard_at[0] - written < 5  # not held up by the slow one's 30 s
    finally:
        release.set()
        runtime.stop()


def test_a_plugin_hears_again_what_it_had_not_acknowledged_when_its_process_stopped(
        account, worker):
    first = Listener()
    host = stored_host(5.0)
    host.add_plugin(first, "listener")
    entry = clocking.clock_in(account.id, worker.id)
    runtime = PluginRuntime(host)
    runtime.stopping.set()  # it stops before handing anything over: nothing acknowledged
    runtime.deliver_pending()
    assert first.heard == []
    again = Listener()
    host = stored_host(5.0)
    host.add_plugin(again, "listener")
    PluginRuntime(host).deliver_pending()  # the next process
    assert again.heard == [entry.id]
