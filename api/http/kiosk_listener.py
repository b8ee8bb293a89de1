"""The kiosk listener of `tempclock serve --kiosk-host`, in a process of its own.

A kiosk flood must not starve the integrators, nor they the kiosk: in the API's
process the kiosk's requests queued for the same interpreter lock as the API's and
cost its throughput ratio (bench/kiosk_punches.py). In a process of its own it has
its own lock and event loop, and writes through the same store (SQLite queues a
second writer process, see `tempclock.api.store`; PostgreSQL is shared anyway), so it
also runs beside `--workers N`.

The host binds the port (a port in use is its error, at once) and hands the socket
to the process; it restarts the process when it dies (killed or crashed: not when a
signal asked it to stop, with a growing pause between restarts) and
stops it, gracefully and in bounded time, when it stops itself. The process also
stops when the host is gone however it died (the pipe the dispatcher uses).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tempclock.api.processes import has_ended, kill_and_reap
from tempclock.api.sockets import bound_socket

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from tempclock.api.config import Config

log = logging.getLogger("tempclock.api.kiosk")

BACKLOG = 2048
FIRST_PAUSE_S = 0.5  # before restarting a listener that died; doubles up to
LONGEST_PAUSE_S = 10.0
STEADY_S = 30.0  # a listener that ran this long before dying is restarted at once
STOP_GRACE_S = 3.0  # in-flight punches finish (uvicorn's graceful timeout), then killed
# A punch's own work is ~120 us of CPU; its commit (BEGIN IMMEDIATE, the writers' turn, the
# COMMIT and its sync, the hops between threads) ~210 us more, shared by every punch of its
# group. At 550 punches/s a group held one punch or two, so while punches come close
# together (routing.BUSY_S) the first of each group waits this long for others to join:
# 3 ms a punch that a person does not see, for a process that spent 605 us of CPU a punch
# and 427 with it (bench/kiosk_punches.py, alone; 512 -> 385 beside the API's load), and
# waited 485 -> 164 us a punch for a CPU. A lone punch does not wait.
GATHER_S = 0.003


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port` and listening (OSError when the port is taken)."""
    sock = bound_socket(host, port)
    try:
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def serve_kiosk(config: Config, sock: socket.socket, certfile: Path | None,
                keyfile: Path | None, log_level: str, host_gone: Connection) -> None:
    """Serve /kiosk/* on `sock` until SIGTERM/SIGINT or the host is gone (a process target)."""
    from tempclock.api.http.kiosk import create_kiosk_app
    from tempclock.api.http.routing import gather_writes
    from tempclock.api.server import build_server, tune_serving_process
    from tempclock.api.store import close_store, is_postgres, open_store
    from tempclock.api.store.checkpoints import Checkpointer

    # uvicorn stops gracefully on SIGTERM, then raises it again: exit 0, a stop asked for.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    tune_serving_process()
    gather_writes(GATHER_S)
    open_store(config, upgrade=False)  # the host has applied the migrations
    # Punches commit hundreds of times a second: the log's checkpoints go on a thread of
    # their own rather than into the commit that answers a batch of punches.
    checkpointer = None if is_postgres() else Checkpointer().start()
    host, port = sock.getsockname()[:2]
    server = build_server(create_kiosk_app(), host, port, log_level=log_level,
                          certfile=certfile, keyfile=keyfile)
    threading.Thread(target=_stop_when_host_is_gone, args=(server, host_gone),
                     name="kiosk-host-watch", daemon=True).start()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        close_store()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _stop_when_host_is_gone(server: Any, host_gone: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        host_gone.recv()  # never sent anything: returns (raises) when the host's end closes
    server.should_exit = True


class KioskListener:
    """The kiosk listener's process as `serve` sees it: started, restarted, stopped."""

    def __init__(self, config: Config, host: str, port: int, *, certfile: Path | None = None,
                 keyfile: Path | None = None, log_level: str = "info") -> None:
        if certfile is not None:  # a bad pair is the host's error now, not a child dying again
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile,
                                                                                keyfile)
        self.socket = listening_socket(host, port)
        self.port: int = self.socket.getsockname()[1]
        self._target = (config, self.socket, certfile, keyfile, log_level)
        self._context = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # a restart and a stop never cross
        self.restarts = 0
        self._terminated = False  # the stopping process was sent SIGTERM (once is enough)
        self.process: Any = None
        self._host_end: Any = None

    def start(self) -> KioskListener:
        """Start the process and a thread that restarts it when it dies."""
        self._spawn()
        threading.Thread(target=self._watch, name="kiosk-listener-watch", daemon=True).start()
        return self

    def _spawn(self) -> None:
        reading, self._host_end = self._context.Pipe(duplex=False)
        self.process = self._context.Process(target=serve_kiosk, args=(*self._target, reading),
                                             name="tempclock-kiosk", daemon=True)
        self.process.start()
        reading.close()  # the child has its own copy: the host holds only the writing end

    def _watch(self) -> None:
        pause = FIRST_PAUSE_S
        while True:  # a stop ends every join below, and is checked right after it
            started = time.monotonic()
            self.process.join()
            if self._stopping.is_set():
                return
            if self.process.exitcode == 0:  # stopped as asked (Ctrl+C reaches the whole group)
                log.warning("the kiosk listener (process %s) has stopped: it was asked to",
                            self.process.pid)
                return
            pause = FIRST_PAUSE_S if time.monotonic() - started > STEADY_S else pause
            log.warning("the kiosk listener (process %s) stopped unexpectedly (exit code %s); "
                        "starting it again in %.1f s", self.process.pid, self.process.exitcode,
                        pause)
            if self._stopping.wait(pause):
                return
            pause = min(LONGEST_PAUSE_S, 2 * pause)
            with self._lock:
                if self._stopping.is_set():
                    return
                self._host_end.close()
                self._spawn()
                self.restarts += 1

    def ask_to_stop(self) -> None:
        """Tell the process to finish its requests and stop, without waiting (`stop` waits)."""
        with self._lock:
            self._stopping.set()
            self._host_end.close()  # the process sees its host gone (serve started it first)

    def begin_stop(self) -> None:
        """`ask_to_stop`, and start the process's graceful stop now (SIGTERM, once), so it
        runs alongside the host's own; `stop` then waits for it."""
        self.ask_to_stop()
        process = self.process
        if process is not None and process.is_alive() and not self._terminated:
            self._terminated = True
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGTERM)  # uvicorn's graceful shutdown

    def stop(self, timeout: float = STOP_GRACE_S) -> None:
        """Stop the process: `timeout` s for its requests in flight, then it is killed."""
        self.begin_stop()
        process = self.process
        if process is not None and process.is_alive():
            process.join(timeout)
            if not has_ended(process):
                log.warning("the kiosk listener (process %s) did not stop within %.1f s; "
                            "killing it", process.pid, timeout)
                kill_and_reap(process, "the kiosk listener")
        self.socket.close()
