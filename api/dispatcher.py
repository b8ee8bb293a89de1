"""The event dispatcher: outbox → webhook deliveries, plugin hooks and connectors.

Three loops, each on its own thread, each picking up where the store says it
stopped (so nothing is lost when the host stops):

- fan-out: new outbox events become pending deliveries, one per subscription;
- plugins (only in tests and tools that hand it a `PluginHost`): each event goes
  to the plugins' event hooks and event-receiving connectors through a
  `tempclock.api.plugin_runtime.PluginRuntime`;
- delivery: due deliveries are POSTed by a pool of senders, signed, with a
  timeout; every attempt is recorded and failures are retried with backoff;
- retention: every hour, API logs and finished deliveries older than their
  account's retention are pruned in small batches (`tempclock.api.services.retention`);
- lateness: every 30 s, shifts whose worker is late or missed them fire `shift_late` /
  `shift_missed`, once each (`tempclock.api.services.lateness`).

`tempclock serve` and the desktop run it in a process of its own
(`start_process`), so a slow receiver never slows the API. That process never
loads plugin code: it supervises a plugin process of its own
(`tempclock.api.plugin_runtime.PluginSupervisor`), so a plugin that exits, crashes
or hangs never stops a webhook.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import ctypes
import hashlib
import hmac
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

from tempclock.api import priority
from tempclock.api.config import Config
from tempclock.api.plugin_runtime import PluginRuntime, PluginSupervisor
from tempclock.api.processes import kill_and_reap
from tempclock.api.services import deliveries, lateness, retention
from tempclock.api.services.egress import check_url
from tempclock.api.services.errors import DomainError
from tempclock.api.store import close_store, database, open_store
from tempclock.plugins.manager import PluginHost

log = logging.getLogger("tempclock.dispatcher")

USER_AGENT = "TempClock-Webhooks/1"
CONNECT_TIMEOUT_S = 5.0
SEND_TIMEOUT_S = 10.0
RECORD_EVERY_S = 0.05
RETENTION_EVERY_S = 3600.0
LATENESS_EVERY_S = 30.0
DRAINED_BYTES = 64 * 1024  # a short answer is read (and dropped) so its connection is reused
STOP_TIMEOUT_S = 1.5  # a stopping dispatcher's sends in flight get this long to finish
PLUGINS_STOP_S = 2.0  # and the plugin process this long (killed then)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The signature headers of a delivery.

    `X-TempClock-Signature` is the hex HMAC-SHA256 of the raw body keyed with the
    whole secret; `webhook-signature` follows Standard Webhooks (HMAC-SHA256 of
    `id.timestamp.body`, keyed with the base64-decoded part after `whsec_`).
    """
    tempclock = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    standard = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "X-TempClock-Signature": f"sha256={tempclock}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": f"v1,{standard}",
    }


class Dispatcher:
    """Moves outbox events to their receivers. `start()` runs it; `run_once()` does one pass."""

    def __init__(self, *, plugins: PluginHost | None = None, export_dir: Path | None = None,
                 senders: int = 8, poll_interval: float = 0.2,
                 send_timeout: float = SEND_TIMEOUT_S,
                 retention_every: float = RETENTION_EVERY_S, background: bool = False) -> None:
        self.plugins = plugins
        self.export_dir = export_dir
        self._runtime = (PluginRuntime(plugins, export_dir=export_dir)
                         if plugins is not None else None)
        self.senders = senders
        self.poll_interval = poll_interval
        self.send_timeout = send_timeout
        self.retention_every = retention_every
        self.background = background  # its working threads yield to the API
        self._next_pruning = 0.0  # the first pass runs at start
        self._next_lateness = 0.0  # likewise
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=senders, thread_name_prefix="webhook-send",
            initializer=self._lower_priority)
        self._in_flight = threading.Semaphore(senders)
        self._results: queue.Queue[deliveries.Attempt] = queue.Queue()
        import httpx  # here: 0.14 s of imports that only the dispatcher's process needs

        from tempclock.api import outbound

        self._http_error = httpx.HTTPError
        self._failure_reason = outbound.failure_reason
        # One client per egress allowance; each account's deliveries use the one it has now.
        self._clients = {
            allowed: outbound.delivery_client(
                allow_internal=allowed, timeout=httpx.Timeout(send_timeout,
                                                              connect=CONNECT_TIMEOUT_S),
                limits=httpx.Limits(max_connections=senders,
                                    max_keepalive_connections=senders),
                user_agent=USER_AGENT)
            for allowed in (False, True)}

    # --- one pass of each stage (tests call these directly) ----------------------------

    def fan_out(self) -> int:
        """Queue deliveries for new events; returns how many events were read."""
        total = 0
        while (n := deliveries.fan_out()) > 0:
            total += n
        return total

    def notify_plugins(self) -> int:
        """Hand pending events to the plugins, each on its own lane (a host given here only)."""
        return self._runtime.deliver_pending() if self._runtime is not None else 0

    def send_due(self, wait: bool = False, *, block: float = 0.0) -> int:
        """Start sending due deliveries on free senders; returns how many were claimed.

        With `block`, wait up to that long for a sender to come free. Senders only
        talk HTTP; their outcomes are written in batches by `record_results`.
        """
        acquired = (self._in_flight.acquire(timeout=block) if block
                    else self._in_flight.acquire(blocking=False))
        if not acquired:
            return 0
        free = 1
        while self._in_flight.acquire(blocking=False):
            free += 1
        batch: list[deliveries.Outbound] = []
        try:
            batch = deliveries.claim_due(free)
        finally:
            for _ in range(free - len(batch)):
                self._in_flight.release()
        futures = [self._pool.submit(self._send, outbound) for outbound in batch]
        if wait:
            concurrent.futures.wait(futures)
            self.record_results()
        return len(batch)

    def record_results(self) -> int:
        """Write the outcomes the senders have reported so far, in one transaction."""
        results = []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                break
        if results:
            deliveries.record_attempts(results)
        return len(results)

    def _send(self, outbound: deliveries.Outbound) -> None:
        started = time.perf_counter()
        try:
            status, ok, error, final = self._post(outbound)
        except DomainError as refused:  # an invalid URL, or the egress policy: not retried
            status, ok, error, final = None, False, refused.message, True
        except Exception as exc:  # noqa: BLE001 - recorded as failed, never a retry loop
            log.warning("delivery %s failed: %s", outbound.id, type(exc).__name__)
            status, ok, error, final = None, False, f"{type(exc).__name__}: {exc}", True
        finally:
            self._in_flight.release()
        duration = (time.perf_counter() - started) * 1000
        self._results.put(deliveries.Attempt(outbound.id, ok, status, duration, error, final))

    def _post(self, outbound: deliveries.Outbound) -> tuple[int | None, bool, str | None, bool]:
        """POST one delivery: (status, ok, short reason, final). Never keeps the answer's body."""
        check_url(outbound.url, allow_internal=outbound.internal_allowed)
        body = outbound.body.encode()
        headers = {"Content-Type": "application/json",
                   "X-TempClock-Event": outbound.event_type,
                   "X-TempClock-Delivery": outbound.message_id, **outbound.headers}
        if outbound.secret:
            headers.update(sign(outbound.secret, outbound.message_id, int(time.time()), body))
        client = self._clients[outbound.internal_allowed]
        try:
            with client.stream("POST", outbound.url, content=body, headers=headers) as response:
                status = response.status_code
                self._drain(response)
        except self._http_error as exc:
            return None, False, self._failure_reason(exc), False
        ok = 200 <= status < 300
        return status, ok, None if ok else f"HTTP {status}", False

    def _drain(self, response) -> None:
        """Read a short answer to its end (its connection is then reused); never keep it."""
        deadline, drained = time.monotonic() + self.send_timeout, 0
        try:
            for chunk in response.iter_raw():  # a long or slow answer is cut short
                drained += len(chunk)
                if drained > DRAINED_BYTES or time.monotonic() > deadline:
                    return
        except self._http_error:
            return  # the status has arrived: it is what counts

    def prune(self) -> int:
        """Prune old logs, deliveries and kiosk punch records when a pass is due; returns 0
        (never busy)."""
        if time.monotonic() < self._next_pruning:
            return 0
        self._next_pruning = time.monotonic() + self.retention_every
        pruned = retention.prune(stop=self._stop)
        if pruned.api_logs or pruned.deliveries or pruned.kiosk_punches:
            log.info("retention: pruned %d API log entries, %d delivery records and %d kiosk "
                     "punch records", pruned.api_logs, pruned.deliveries, pruned.kiosk_punches)
        return 0

    def sweep_lateness(self) -> int:
        """Fire the late / missed events when a sweep is due; returns 0 (never busy)."""
        if time.monotonic() < self._next_lateness:
            return 0
        self._next_lateness = time.monotonic() + LATENESS_EVERY_S
        fired = lateness.sweep()
        if fired:
            log.info("lateness: %d shift_late / shift_missed events", fired)
        return 0

    def run_once(self) -> None:
        """One pass of every stage, waiting for the sends (tests use this)."""
        self.fan_out()
        self.notify_plugins()
        self.send_due(wait=True)

    # --- running -------------------------------------------------------------------

    def _lower_priority(self) -> None:
        """Every working thread (each loop, each sender) starts here: with `background`,
        it yields to the API when the CPU is short (`tempclock.api.priority`); the thread
        that starts and stops the dispatcher keeps its pace on a busy machine."""
        if self.background:
            priority.lower_this_thread()

    def _loop(self, stage, name: str) -> None:
        self._lower_priority()
        while not self._stop.is_set():
            try:
                busy = stage()
            except Exception:  # noqa: BLE001 - a bad pass is logged; the loop goes on
                log.exception("dispatcher %s pass failed", name)
                busy = 0
            if not busy:
                self._stop.wait(self.poll_interval)
        database.close()

    def _deliver(self) -> int:
        return self.send_due(block=self.poll_interval)

    def _record(self) -> int:
        # Outcomes are written together: one transaction for many deliveries.
        self._stop.wait(RECORD_EVERY_S)
        return self.record_results()

    def start(self) -> None:
        """Run the stages on background threads until `stop()`."""
        if self._runtime is not None:
            self._runtime.start()
        for name, stage in (("fan-out", self.fan_out), ("delivery", self._deliver),
                            ("recorder", self._record), ("retention", self.prune),
                            ("lateness", self.sweep_lateness)):
            thread = threading.Thread(target=self._loop, args=(stage, name),
                                      name=f"dispatcher-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop the loops, let sends in flight finish and record them, all within `timeout` s.

        A send or a plugin hook still running then is left behind (its delivery is
        claimed, so it is retried after a while; the plugin's event comes again).
        """
        deadline = time.monotonic() + timeout
        self._stop.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._wait_for_sends(deadline)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.record_results()
        database.close()
        for client in self._clients.values():
            client.close()
        if self._runtime is not None:
            self._runtime.stop(0.0)
        if self.plugins is not None:
            self.plugins.close()

    def _wait_for_sends(self, deadline: float) -> None:
        """Wait until every sender is free again (each send gives its place back), or the deadline."""
        taken = 0
        while taken < self.senders and self._in_flight.acquire(
                timeout=max(0.0, deadline - time.monotonic())):
            taken += 1
        for _ in range(taken):
            self._in_flight.release()


def run_forever(config: Config, stop: Connection, hears_stop: ctypes.c_bool) -> None:
    """Run a dispatcher, and the supervised plugin process, until told to stop (a process target).

    It stops on SIGTERM, SIGINT or SIGHUP (a service manager, Ctrl+C or a closed terminal
    signals the whole process group), and when `stop`, the reading end of a pipe only the host holds the other end
    of, reports the end of its data: the host closed it, or the host is gone however it
    died. A pipe, not a shared lock or event, so a host never waits on anything this
    process held when it was killed. Both are heard from the first moment (`hears_stop`
    tells the host so); see `StopRequest` for a request that comes while it starts.
    """
    request = StopRequest()
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):  # Windows has no SIGHUP
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda _n, _f: request.from_signal())
    threading.Thread(target=_stop_when_told, args=(stop, request), name="dispatcher-host-watch",
                     daemon=True).start()
    hears_stop.value = True
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per delivery
    open_store(config)
    dispatcher = Dispatcher(export_dir=config.data_dir / "exports", background=True)
    plugins = PluginSupervisor(config)
    request.begin_work()
    dispatcher.start()
    plugins.start()
    log.info("the dispatcher is running (process %d)", os.getpid())
    try:
        while not request.wait(0.25):  # a timeout, so Windows runs the signal handlers
            pass
    finally:
        _stop_running(dispatcher, plugins)
    # Everything is saved; a plugin hook or a send that hangs must not keep the process
    # alive (the interpreter would join their threads for ever at exit).
    os._exit(0)


class StopRequest:
    """A stop request to the dispatcher's process, from its host's pipe or from a signal.

    Until the process begins its work (while it opens the store and builds its senders:
    seconds on a loaded machine, and none of it interruptible) it has nothing to finish or
    save, so a request ends it at once; afterwards the request is waited for and the
    dispatcher stops gracefully.
    """

    def __init__(self) -> None:
        self._requested = threading.Event()
        self._lock = threading.Lock()
        self._working = False

    def wait(self, timeout: float) -> bool:
        return self._requested.wait(timeout)

    def begin_work(self) -> None:
        """From here on a request is waited for (the main thread, before starting work)."""
        with self._lock:
            self._working = True

    def from_host(self) -> None:
        """The host asked (the watching thread)."""
        with self._lock:
            self._stop_or_end()

    def from_signal(self) -> None:
        """A signal asked (a handler in the main thread, between two of its steps: never
        inside `begin_work`'s lock, which the main thread may hold)."""
        self._stop_or_end()

    def _stop_or_end(self) -> None:
        self._requested.set()
        if not self._working:
            log.info("the dispatcher was told to stop while starting (process %d)", os.getpid())
            os._exit(0)


def _stop_when_told(stop: Connection, request: StopRequest) -> None:
    """Pass on the stop request the host makes by closing its end of `stop` (or dying)."""
    with contextlib.suppress(EOFError, OSError):
        stop.poll(None)  # readable: the host's end is closed, there is never data
    request.from_host()


def _stop_running(dispatcher: Dispatcher, plugins: PluginSupervisor) -> None:
    """Stop what `run_forever` started (the plugin process beside the dispatcher), save, log."""
    plugins.ask_to_stop()  # both stop side by side
    dispatcher.stop()
    plugins.stop(PLUGINS_STOP_S - STOP_TIMEOUT_S)
    close_store()
    log.info("the dispatcher has stopped (process %d)", os.getpid())
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed stream has nothing to flush
            stream.flush()


class DispatcherProcess:
    """The dispatcher's process as its host sees it: started, watched, and stopped in bounded time."""

    def __init__(self, config: Config) -> None:
        context = multiprocessing.get_context("spawn")
        reading, self._stop = context.Pipe(duplex=False)
        # Set by the process once it hears a stop request; no lock, so none is ever held.
        self._hears_stop = context.RawValue(ctypes.c_bool, False)
        self.process = context.Process(target=run_forever,
                                       args=(config, reading, self._hears_stop),
                                       name="tempclock-dispatcher", daemon=True)
        self.process.start()
        reading.close()  # the child has its own copy: the host holds only the writing end

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def exitcode(self) -> int | None:
        return self.process.exitcode

    def is_alive(self) -> bool:
        return self.process.is_alive()

    @property
    def hears_stop(self) -> bool:
        """Whether the process has loaded its code and hears a stop request (until then,
        `ask_to_stop` ends it at once)."""
        return bool(self._hears_stop.value)

    def ask_to_stop(self) -> None:
        """Tell the process to stop, without waiting (`stop` waits).

        A process still loading its code cannot hear the request yet, and has nothing
        to finish or save: it is ended at once rather than left to load first.
        """
        self._stop.close()
        if not self.hears_stop and self.process.exitcode is None:
            self.process.terminate()

    def stop(self, timeout: float = STOP_TIMEOUT_S + PLUGINS_STOP_S) -> None:
        """Tell the process to stop and wait `timeout` s at most; then kill it.

        (Terminating a running one first would not help: the process stops on SIGTERM as
        it does on this request, and it is already doing that.)
        """
        self.ask_to_stop()
        self.process.join(timeout)
        if self.process.exitcode is None:
            log.warning("the dispatcher (process %s) did not stop within %.1f s; killing it",
                        self.process.pid, timeout)
            kill_and_reap(self.process, "the dispatcher")


def start_process(config: Config) -> DispatcherProcess:
    """Start the dispatcher in a process of its own; `stop()` it when the host stops."""
    return DispatcherProcess(config)
