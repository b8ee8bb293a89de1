"""Plugin code runs here, never where webhooks are delivered or the API answers.

- `PluginRuntime` hands the outbox's events to the plugins that listen (an event hook,
  or a connector that receives events). Each plugin has a lane of its own: its own
  thread, its own cursor in the outbox (advanced only once the plugin has had the
  events: its acknowledgement) and its own time budget. A plugin that overruns its
  budget is quarantined (called no more until TempClock restarts) and named; the
  others never wait for it.
- `main` is the plugin process (`python -m tempclock.api.plugin_runtime`): it loads the
  plugins and runs a `PluginRuntime` until its supervisor closes its standard input.
  A hung plugin's thread cannot be stopped, so a process with one asks to be started
  again without it (exit code `RESTART_EXIT`).
- `PluginSupervisor`, in the dispatcher's process, starts the plugin process, restarts
  it with backoff when it dies (`os._exit`, a segfault, the OOM killer), and learns
  from it which plugins were running at each moment: the one running when the process
  died is quarantined and its problem stored. Events a plugin had not acknowledged
  are handed to it again after the restart.

Problems are kept with `tempclock.api.services.plugin_problems` (the CLI and the
desktop show them). Set `TEMPCLOCK_PLUGIN_TIME_BUDGET` (seconds) to change every
plugin's budget (default `tempclock.plugins.manager.HOOK_TIMEOUT_S`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

import msgspec

from tempclock.api import priority
from tempclock.api.config import Config
from tempclock.api.processes import kill_and_reap
from tempclock.api.services import connectors as connector_svc
from tempclock.api.services import deliveries, plugin_problems
from tempclock.api.services.common import utc
from tempclock.api.services.errors import DomainError
from tempclock.api.store import close_store, database, open_store
from tempclock.plugins.connectors import Event
from tempclock.plugins.manager import HOOK_TIMEOUT_S, PluginHost, PluginProblem

log = logging.getLogger("tempclock.plugin_runtime")

BUDGET_ENV = "TEMPCLOCK_PLUGIN_TIME_BUDGET"
BUDGET_RANGE_S = (0.1, 3600.0)  # a budget written outside is brought within
RESTART_EXIT = 75  # "start me again, without the plugins I quarantined"
POLL_S = 0.2
BATCH = 100
WATCH_EVERY_S = 0.05
STOP_GRACE_S = 1.0  # a stopping plugin process lets hooks in flight finish this long
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
STABLE_AFTER_S = 30.0  # a process up this long has not been crash-looping
HOLD_BACK_S = 1.0  # after a crash, the plugins that were running start this much later,
STAGGER_S = 0.5  # one after the other: the others catch up first, and a repeat names one


def time_budget() -> float:
    """Every plugin's time budget per call, in seconds (`TEMPCLOCK_PLUGIN_TIME_BUDGET`).

    A number is brought within BUDGET_RANGE_S; anything else ("ten seconds", "nan", "inf":
    a plugin that may hang for ever) gets the default, with a warning naming the variable.
    """
    written = os.environ.get(BUDGET_ENV, "").strip()
    if not written:
        return HOOK_TIMEOUT_S
    try:
        budget = float(written)
    except ValueError:
        budget = math.nan
    if not math.isfinite(budget):
        log.warning("%s=%r is not a number of seconds; plugins get the default %g s",
                    BUDGET_ENV, written, HOOK_TIMEOUT_S)
        return HOOK_TIMEOUT_S
    low, high = BUDGET_RANGE_S
    return min(high, max(low, budget))


def quarantined_message(why: str) -> str:
    return f"{why}; it will not be called again until TempClock restarts"


# --- the lanes ---------------------------------------------------------------------------


class Lane:
    """One plugin's thread, cursor and clock."""

    def __init__(self, runtime: PluginRuntime, plugin: str) -> None:
        self.runtime = runtime
        self.plugin = plugin
        self.cursor_name = "plugin:" + hashlib.sha256(plugin.encode()).hexdigest()[:24]
        self.position: int | None = None
        self.drained = 0  # events read by the last `drain()`
        self.started: float | None = None  # when the call in flight began (monotonic)
        self.stage = ""
        self.thread: threading.Thread | None = None

    @property
    def host(self) -> PluginHost:
        return self.runtime.host

    @property
    def active(self) -> bool:
        return not self.runtime.stopping.is_set() and not self.host.is_quarantined(self.plugin)

    def catch_up(self) -> int:
        """Hand the plugin one batch of the events after its cursor; returns how many were read.

        The cursor moves past the events handed (the acknowledgement), also when the lane
        stops half-way through the batch.
        """
        if self.position is None:
            self.position = deliveries.cursor(self.cursor_name)
            if not self.position:
                # A plugin new to this store starts where the plugins as a whole have got
                # to, and says so at once: that point may move on before it acknowledges.
                self.position = deliveries.cursor("plugins")
                deliveries.advance_cursor(self.cursor_name, self.position)
        rows = deliveries.pending_events(self.position, BATCH)
        start, enabled = self.position, {}
        for row in rows:
            if not self.active:
                break
            if self._wanted(row, enabled):
                event = Event(id=row.id, type=row.type, account_id=row.account_id,
                              created_at=utc(row.created_at),
                              data=msgspec.json.decode(row.data))
                self._hand(event, enabled)
            self.position = row.id
        if self.position != start and not self.host.is_quarantined(self.plugin):
            deliveries.advance_cursor(self.cursor_name, self.position)
        return len(rows)

    def _wanted(self, row, enabled: dict[int, dict[str, dt.datetime]]) -> bool:
        """Whether the plugin may want this event: it has the hook, or a connector of its is
        on for the account (the rest, decoded, is checked by `_hand`)."""
        if self.host.hears(self.plugin, row.type):
            return True
        connectors = self.host.event_connectors(self.plugin)
        if not connectors:
            return False
        switched_on = self._enabled(row.account_id, enabled)
        return any(c.connector.id in switched_on for c in connectors)

    @staticmethod
    def _enabled(account_id: int, enabled: dict[int, dict[str, dt.datetime]]
                 ) -> dict[str, dt.datetime]:
        if account_id not in enabled:
            # Read once per batch, after the events: a connector switched on before an
            # event was written is seen.
            enabled[account_id] = connector_svc.enabled_connectors(account_id)
        return enabled[account_id]

    def _hand(self, event: Event, enabled: dict[int, dict[str, dt.datetime]]) -> None:
        export_dir = self.runtime.export_dir
        if self.host.hears(self.plugin, event.type):
            context = connector_svc.AccountContext(event.account_id, event=event,
                                                   export_dir=export_dir)
            self._timed(event.type, lambda: self.host.call_hook(self.plugin, event, context))
        for loaded in self.host.event_connectors(self.plugin):
            if not self.active:
                return
            since = self._enabled(event.account_id, enabled).get(loaded.connector.id)
            if since is None or event.created_at < since:
                continue  # off, or it happened before the admin switched it on
            try:
                settings = connector_svc.bound_settings(event.account_id, loaded.connector)
            except DomainError as refused:
                self.host.report(self.plugin, "receive_event", refused.message,
                                 package=loaded.package)
                continue
            if event.type not in (settings.get("events") or loaded.connector.events):
                continue
            context = connector_svc.AccountContext(
                event.account_id, connector_id=loaded.connector.id, settings=settings,
                event=event, export_dir=export_dir)
            self._timed("receive_event",
                        lambda loaded=loaded, context=context: self.host.call_connector(
                            loaded, event, context))

    def _timed(self, stage: str, call: Callable[[], object]) -> None:
        self.stage, self.started = stage, time.monotonic()
        try:
            call()
        finally:
            self.started = None
        self.runtime.on_handled(self.plugin)

    def overran(self, budget: float) -> bool:
        started = self.started
        return started is not None and time.monotonic() - started > budget

    def run(self) -> None:
        """The lane's thread while the runtime runs: catch up, then wait for more."""
        try:
            while self.active:
                try:
                    busy = self.catch_up()
                except Exception:  # noqa: BLE001 - a store hiccup: logged, tried again
                    log.exception("plugin %s: a pass failed", self.plugin)
                    busy = 0
                if not busy:
                    self.runtime.stopping.wait(POLL_S)
        finally:
            _close_connection()

    def drain(self) -> None:
        """Catch up with every pending event, then stop (one synchronous pass); `drained`
        counts the events read."""
        self.drained = 0
        try:
            while self.active and (read := self.catch_up()):
                self.drained += read
        finally:
            _close_connection()


def _close_connection() -> None:
    """Close this lane's store connection, unless its host has closed the store meanwhile
    (a lane left behind by a stopping runtime ends whenever its plugin returns)."""
    if database.obj is not None:
        database.close()


class PluginRuntime:
    """Hands events to the listening plugins, each on its own lane with its own budget.

    `deliver_pending()` does one synchronous pass (tests and one-off tools); `start()`
    runs the lanes until `stop()`. `on_quarantine(plugin)` is told when a plugin is cut
    off for overrunning its budget, `on_handled(plugin)` each time a call to it returned
    (whatever it raised: the process survived it).
    """

    def __init__(self, host: PluginHost, *, export_dir: Path | None = None,
                 budget: float | None = None,
                 on_quarantine: Callable[[str], None] | None = None,
                 on_handled: Callable[[str], None] | None = None) -> None:
        self.host = host
        self.export_dir = export_dir
        self.budget = host.hook_timeout if budget is None else budget
        self.on_quarantine = on_quarantine or (lambda _plugin: None)
        self.on_handled = on_handled or (lambda _plugin: None)
        self.stopping = threading.Event()
        self.lanes = {name: Lane(self, name) for name in host.listeners()}
        self._watchdog: threading.Thread | None = None
        self._common = -1

    def deliver_pending(self) -> int:
        """Every listening plugin catches up with the outbox, each on its own thread.

        Returns once each has (or has been quarantined for overrunning its budget), with
        how many events the lane that read most read (0: nothing was pending).
        """
        threads = {}
        for lane in self.lanes.values():
            if self.host.is_quarantined(lane.plugin):
                continue
            thread = threading.Thread(target=lane.drain, name=f"plugin-{lane.plugin}",
                                      daemon=True)
            thread.start()
            threads[lane.plugin] = thread
        # A quarantined plugin's thread is left behind: it is not waited for.
        while any(thread.is_alive() and not self.host.is_quarantined(plugin)
                  for plugin, thread in threads.items()):
            self.check_budgets()
            time.sleep(WATCH_EVERY_S)
        return max((self.lanes[plugin].drained for plugin in threads), default=0)

    def check_budgets(self) -> list[str]:
        """Quarantine each plugin whose call in flight has overrun its budget; returns them."""
        cut = []
        for lane in self.lanes.values():
            if lane.overran(self.budget) and not self.host.is_quarantined(lane.plugin):
                self.host.quarantine(lane.plugin)
                self.host.report(lane.plugin, lane.stage, quarantined_message(
                    f"did not return within {self.budget:g} s"))
                self.on_quarantine(lane.plugin)
                cut.append(lane.plugin)
        return cut

    def start(self, held: Iterable[str] = ()) -> None:
        """Run each lane on its own thread, and a watchdog over their budgets.

        The `held` plugins (running when the process last died) start after the others,
        one at a time, so the innocent catch up at once and a crash that comes again
        happens with fewer plugins running.
        """
        held = sorted(set(held) & set(self.lanes))
        for lane in self.lanes.values():
            delay = (HOLD_BACK_S + STAGGER_S * held.index(lane.plugin)
                     if lane.plugin in held else 0.0)
            lane.thread = threading.Thread(target=self._run_lane, args=(lane, delay),
                                           name=f"plugin-{lane.plugin}", daemon=True)
            lane.thread.start()
        self._watchdog = threading.Thread(target=self._watch, name="plugin-watchdog",
                                          daemon=True)
        self._watchdog.start()

    def _run_lane(self, lane: Lane, delay: float) -> None:
        if not self.stopping.wait(delay):
            lane.run()

    def _watch(self) -> None:
        while not self.stopping.wait(WATCH_EVERY_S):
            self.check_budgets()

    def save_common_cursor(self) -> None:
        """Move the cursor a plugin new to the store starts from: where all lanes have got to."""
        positions = [lane.position for lane in self.lanes.values()
                     if not self.host.is_quarantined(lane.plugin)]
        if None in positions:
            return  # a lane has not read its cursor yet: it may be behind everyone
        common = min(positions, default=-1)
        if common > self._common:
            deliveries.advance_cursor("plugins", common)
            self._common = common

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the lanes; hooks in flight get `grace` s to finish, then are left behind."""
        self.stopping.set()
        deadline = time.monotonic() + grace
        for lane in self.lanes.values():
            if lane.thread is not None:
                lane.thread.join(max(0.0, deadline - time.monotonic()))


# --- the plugin process ------------------------------------------------------------------


class Reporter:
    """The plugin process's side of the line to its supervisor (one JSON object per line)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, what: str, plugin: str) -> None:
        line = json.dumps({"what": what, "plugin": plugin}) + "\n"
        with self._lock, contextlib.suppress(OSError, ValueError):
            self._stream.write(line)
            self._stream.flush()

    def watch(self, plugin: str, running: bool) -> None:
        self.send("running" if running else "done", plugin)


LOAD_STAGES = ("import", "register", "register_connectors")


def _keep(problem: PluginProblem) -> None:
    """Store a runtime problem (loading problems are found afresh by whoever loads plugins)."""
    if problem.stage not in LOAD_STAGES:
        plugin_problems.record_problem(problem)


def _private_line() -> IO[str]:
    """The supervisor's line (our stdout), kept for us alone: plugins' prints go to stderr."""
    line = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", buffering=1)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return line


def main() -> None:
    """The plugin process: read the spec from stdin, run the plugins until stdin closes."""
    spec = json.loads(sys.stdin.readline())
    sys.path[:] = spec["sys_path"]
    reporter = Reporter(_private_line())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = threading.Event()
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda _n, _f: stopping.set())
    threading.Thread(target=_wait_for_eof, args=(stopping,), daemon=True).start()
    priority.lower_this_process()  # after the stop watcher: that one hears a stop promptly
    config = Config(data_dir=Path(spec["data_dir"]), database_url=spec["database_url"])
    open_store(config, upgrade=False)
    host = PluginHost(hook_timeout=spec["budget"], skip=spec["skip"], on_problem=_keep,
                      watch=reporter.watch)
    host.load_entry_points()
    runtime = PluginRuntime(host, export_dir=config.data_dir / "exports",
                            on_quarantine=lambda plugin: reporter.send("quarantined", plugin),
                            on_handled=lambda plugin: reporter.send("handled", plugin))
    runtime.start(held=spec["held"])
    restart = False
    while not stopping.wait(POLL_S):
        with contextlib.suppress(Exception):
            runtime.save_common_cursor()
        if any(host.is_quarantined(lane) for lane in runtime.lanes):
            restart = True  # its thread cannot be stopped: start afresh without it
            break
    runtime.stop()
    with contextlib.suppress(Exception):
        close_store()
    logging.shutdown()
    os._exit(RESTART_EXIT if restart and not stopping.is_set() else 0)


def _wait_for_eof(stopping: threading.Event) -> None:
    """Stop when the supervisor closes our stdin (or dies, whichever way)."""
    with contextlib.suppress(OSError, ValueError):
        while sys.stdin.readline():
            pass
    stopping.set()


# --- the supervisor ----------------------------------------------------------------------


class PluginSupervisor:
    """Runs the plugin process for a host and keeps it running; see the module's docstring."""

    def __init__(self, config: Config, *, budget: float | None = None) -> None:
        self.config = config
        self.budget = time_budget() if budget is None else budget
        self.quarantined: set[str] = set()
        self.restarts = 0
        self._crashes = 0
        self._strikes: dict[str, int] = {}
        self._held: list[str] = []  # running when the process last died
        self._running: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._child: subprocess.Popen[str] | None = None
        self._thread = threading.Thread(target=self._supervise, name="plugin-supervisor",
                                        daemon=True)

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None else None

    def start(self) -> None:
        self._thread.start()

    def ask_to_stop(self) -> None:
        """Tell the plugin process to stop, without waiting."""
        self._stop.set()
        child = self._child
        if child is not None and child.stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                child.stdin.close()

    def stop(self, timeout: float) -> None:
        """Stop the plugin process within `timeout` s (killed if it has not stopped by then,
        and waited for until it is gone)."""
        deadline = time.monotonic() + timeout
        self.ask_to_stop()
        child = self._child
        if child is not None:
            try:
                child.wait(max(0.0, deadline - time.monotonic() - 0.1))
            except subprocess.TimeoutExpired:
                log.warning("the plugin process (%d) did not stop in time; killing it", child.pid)
                kill_and_reap(child, "the plugin process")
        self._thread.join(max(0.1, deadline - time.monotonic()))

    # --- the supervisor's thread ---------------------------------------------------------

    def _supervise(self) -> None:
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    code = self._run_child()
                except Exception:  # noqa: BLE001 - could not even start it: try again later
                    log.exception("could not start the plugin process")
                    code = None
                if self._stop.is_set():
                    break
                if code == RESTART_EXIT:
                    self.restarts += 1
                    continue
                self._crashes = 1 if time.monotonic() - started > STABLE_AFTER_S else (
                    self._crashes + 1)
                self._died(code)
                self.restarts += 1
                self._stop.wait(BACKOFF_S[min(self._crashes, len(BACKOFF_S)) - 1])
        finally:
            database.close()

    def _run_child(self) -> int | None:
        """Start the plugin process and watch it until it exits; returns its exit code."""
        self._running.clear()
        child = subprocess.Popen([sys.executable, "-m", "tempclock.api.plugin_runtime"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                 encoding="utf-8")
        self._child = child
        spec = {"sys_path": sys.path, "data_dir": str(self.config.data_dir),
                "database_url": self.config.database_url, "budget": self.budget,
                "skip": sorted(self.quarantined),
                "held": [p for p in self._held if p not in self.quarantined]}
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(json.dumps(spec) + "\n")
            child.stdin.flush()
        except (OSError, ValueError):
            pass  # it died already (its exit code says so), or the host is stopping
        if self._stop.is_set():
            self.ask_to_stop()
        reader = threading.Thread(target=self._listen, args=(child.stdout,), daemon=True)
        reader.start()
        while child.poll() is None:
            if self._stop.wait(WATCH_EVERY_S * 2):
                break
            self._kill_if_stuck(child)
        reader.join()  # its stdout ends when it exits, or when the host stops and kills it
        return child.wait()

    def _listen(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                message = json.loads(line)
                what, plugin = message["what"], message["plugin"]
            except (ValueError, KeyError, TypeError):
                continue
            with self._lock:
                if what == "running":
                    self._running[plugin] = time.monotonic()
                elif what == "done":
                    self._running.pop(plugin, None)
                elif what == "handled":  # it had an event and the process survived it
                    self._strikes.pop(plugin, None)
                elif what == "quarantined":
                    self.quarantined.add(plugin)

    def _kill_if_stuck(self, child: subprocess.Popen[str]) -> None:
        """A plugin still running long past its budget (hung at import, or the process's own
        watchdog stuck): kill the process; the plugin is blamed as if it had crashed it."""
        limit = 2 * self.budget + 1.0
        with self._lock:
            stuck = [p for p, since in self._running.items() if time.monotonic() - since > limit]
        if stuck:
            log.warning("plugin(s) %s stuck for more than %.0f s: restarting the plugin process",
                        ", ".join(stuck), limit)
            with self._lock:
                self._running = {p: t for p, t in self._running.items() if p in stuck}
            child.kill()

    def _died(self, code: int | None) -> None:
        """The plugin process died: blame the plugin that was running, store the problems."""
        with self._lock:
            suspects = sorted(self._running)
            for plugin in suspects:
                self._strikes[plugin] = self._strikes.get(plugin, 0) + 1
            culprits = suspects if len(suspects) == 1 else [
                p for p in suspects if self._strikes[p] >= 2]
            self.quarantined.update(culprits)
            self._held = suspects
        how = f"exit code {code}" if code is not None and code >= 0 else (
            f"signal {-code}" if code is not None else "could not start")
        log.warning("the plugin process died (%s) while running: %s", how,
                    ", ".join(suspects) or "no plugin code")
        for plugin in suspects:
            why = f"the plugin process died ({how}) while this plugin was running"
            if len(suspects) > 1:
                why += f" (with {', '.join(p for p in suspects if p != plugin)})"
            self._keep(PluginProblem(plugin, "crash", quarantined_message(why)
                                     if plugin in culprits else why))

    @staticmethod
    def _keep(problem: PluginProblem) -> None:
        try:
            plugin_problems.record_problem(problem)
        except Exception:  # noqa: BLE001 - still logged
            log.exception("could not keep the problem of plugin %s", problem.plugin)


if __name__ == "__main__":
    main()
