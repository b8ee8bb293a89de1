"""Serving the API with uvicorn: one place for the settings `tempclock serve` and the desktop share.

`build_server` makes a `uvicorn.Server` for an app; `run` serves in the
foreground (uvicorn handles SIGINT and SIGTERM: in-flight requests finish, then
the app's shutdown hooks flush the logs). The desktop runs `server.run()` on a
thread and stops it with `stop_server`. `run_workers` serves from several
processes (`tempclock serve --workers N`), each building its app with `worker_app`.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from tempclock.api.processes import wait_until_gone
from tempclock.api.sockets import bound_socket

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

    from tempclock.api.config import Config
    from tempclock.api.http.ratelimit import RateLimiter

# Every process stops within 5 s of SIGTERM/SIGINT (ARCHITECTURE.md): requests in flight
# get this long to finish, the log flush and the dispatcher's stop the rest.
GRACEFUL_TIMEOUT_S = 2
WORKER_STOP_S = GRACEFUL_TIMEOUT_S + 1.0  # then a worker that has not exited is killed
WORKER_APP = "tempclock.api.server:worker_app"
SWITCH_INTERVAL_S = 0.002


def tune_serving_process() -> None:
    """Settings for a process that does nothing but serve (`tempclock serve`, each worker).

    Never applied in the desktop app, whose GUI thread keeps Python's defaults.
    """
    # The write thread gives up the GIL inside every SQLite call; with Python's default
    # 5 ms switch interval it then waits behind the event loop to get it back, holding the
    # store's write lock all the while. 2 ms keeps group commits moving; shorter ones
    # (0.1 ms was tried) cost more CPU in GIL hand-overs than they save: measured with
    # bench/clock_writes.py, 1,090-1,160 against 1,300-1,370 us of CPU per clock action.
    sys.setswitchinterval(SWITCH_INTERVAL_S)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback
                       for info in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def exposure_warning(host: str, port: int, *, tls: bool = False) -> str | None:
    """The warning to show when the API would be reachable from other machines."""
    if is_loopback(host):
        return None
    unencrypted = ("" if tls else " Traffic is not encrypted: serve HTTPS with a certificate "
                                   "and its key (--certfile, --keyfile).")
    return (f"WARNING: the TempClock API is exposed on {host}:{port}, reachable from other "
            "machines on the network. Anyone who has a valid API key can use it from there; "
            f"serve on 127.0.0.1 unless integrations on other machines need it.{unencrypted}")


class RepeatedWarnings(logging.Filter):
    """Lets each of uvicorn's warnings through once a minute; the next one says how many
    were held back. A client sending bad requests (an Upgrade header, a request line that
    cannot be read) got one or two lines written for each: a flood of them filled the log,
    or the journal's rate limit, which then dropped the host's own lines. Errors all pass."""

    def __init__(self, every_s: float = 60.0) -> None:
        super().__init__()
        self.every_s = every_s
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, int]] = {}  # format -> (last let through, held)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING:
            return True
        key = str(record.msg)  # the format, not the text: a bounded set
        now = time.monotonic()
        with self._lock:
            last, held = self._held.get(key, (-self.every_s, 0))
            if now - last < self.every_s:
                self._held[key] = (last, held + 1)
                return False
            self._held[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last minute)"
        return True


def _hold_back_repeated_warnings() -> None:
    """Install `RepeatedWarnings` on uvicorn's error log, once per process."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RepeatedWarnings) for f in logger.filters):
        logger.addFilter(RepeatedWarnings())


def _uvicorn_config(app: Any, host: str, port: int, *, log_level: str, access_log: bool,
                    graceful_timeout: int, certfile: Path | None, keyfile: Path | None,
                    **options: Any) -> uvicorn.Config:
    """The settings every server of ours runs with (lifespan on, so the app's hooks run;
    request headers capped at 64 KiB)."""
    from tempclock.api.header_limit import KEEP_ALIVE_S, HeaderLimitedProtocol

    _hold_back_repeated_warnings()
    return uvicorn.Config(
        app,
        http=HeaderLimitedProtocol,
        host=host,
        port=port,
        lifespan="on",
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=graceful_timeout,
        timeout_keep_alive=KEEP_ALIVE_S,
        server_header=False,
        proxy_headers=False,
        backlog=2048,
        ssl_certfile=None if certfile is None else str(certfile),
        ssl_keyfile=None if keyfile is None else str(keyfile),
        **options,
    )


def build_server(
    app: object,
    host: str = "127.0.0.1",
    port: int = 8787,
    *,
    log_level: str = "warning",
    access_log: bool = False,
    graceful_timeout: int = GRACEFUL_TIMEOUT_S,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    on_stop: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server for `app` (not started); HTTPS when given a certificate and key.

    `on_stop` is called the moment a signal (SIGTERM, Ctrl+C) asks the server to stop, so
    what runs beside it can stop alongside rather than after its graceful shutdown.
    """
    config = _uvicorn_config(app, host, port, log_level=log_level, access_log=access_log,
                             graceful_timeout=graceful_timeout, certfile=certfile,
                             keyfile=keyfile)
    return _TellingServer(config, on_stop)


class _TellingServer(uvicorn.Server):
    """uvicorn's server, which also tells `on_stop` when a signal asks it to stop.

    A second signal while it stops changes nothing: the graceful stop is bounded already
    (`timeout_graceful_shutdown`), and uvicorn's forced exit on a second Ctrl+C skipped the
    app's shutdown (the API log's last writes) and, re-raising both signals, printed a
    traceback of the interrupted shutdown.
    """

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._on_stop is not None:
            self._on_stop()
        if not self.should_exit:
            super().handle_exit(sig, frame)


def limiter_for(config: Config) -> RateLimiter:
    """The API's rate limits: in Redis when `TEMPCLOCK_REDIS_URL` is set, else in memory."""
    from tempclock.api.http.ratelimit import RateLimiter, RedisRateLimitStore

    return RateLimiter(None if config.redis_url is None
                       else RedisRateLimitStore(config.redis_url, config.database_label))


def worker_app() -> object:
    """The app one process of `run_workers` serves (uvicorn calls this in each worker).

    The configuration comes from the environment `run_workers` hands down; the
    parent has already applied the migrations.
    """
    from tempclock.api.config import load_config
    from tempclock.api.http import create_app
    from tempclock.api.store import open_store

    tune_serving_process()
    _hold_back_repeated_warnings()  # a worker process configures uvicorn's logging afresh
    config = load_config()
    open_store(config, upgrade=False)
    return create_app(limiter=limiter_for(config))


def run_workers(config: Config, workers: int, *, log_level: str = "info",
                certfile: Path | None = None, keyfile: Path | None = None) -> None:
    """Serve the API from `workers` processes sharing one socket, until SIGINT or SIGTERM.

    Each worker is a fresh process that builds its own app (`worker_app`); the store
    must be one they can all share (PostgreSQL) and so must the rate limits (Redis).
    Raises SystemExit when the address cannot be bound.
    """
    from uvicorn.supervisors import Multiprocess

    os.environ["TEMPCLOCK_DATA_DIR"] = str(config.data_dir)
    for name, value in (("TEMPCLOCK_DATABASE_URL", config.database_url),
                        ("TEMPCLOCK_REDIS_URL", config.redis_url)):
        if value is not None:
            os.environ[name] = value
    settings = _uvicorn_config(
        WORKER_APP, config.host, config.port, log_level=log_level, access_log=False,
        graceful_timeout=GRACEFUL_TIMEOUT_S, certfile=certfile, keyfile=keyfile,
        factory=True, workers=workers)
    sock = settings.bind_socket()
    try:
        supervisor = Multiprocess(settings, sockets=[sock])
        # uvicorn waits for its stopping workers without a limit: one stuck in its shutdown
        # would keep `tempclock serve` from ever exiting.
        supervisor.join_all = lambda: _join_workers(supervisor.processes)
        supervisor.run()
    finally:
        sock.close()


def _join_workers(workers: list[Any]) -> None:
    """Wait for stopping uvicorn workers `WORKER_STOP_S` at most, then kill those left."""
    deadline = time.monotonic() + WORKER_STOP_S
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.process.exitcode is None:
            worker.kill()  # uvicorn's: kills the process and closes its pipes
            wait_until_gone(worker.process, "a server worker")


def stop_server(server: uvicorn.Server) -> None:
    """Ask a running server to finish in-flight requests and shut down."""
    server.should_exit = True


class ServerThread:
    """A uvicorn server for `app` running on a background thread (tests, benchmarks, embedding).

    `start()` returns once the server accepts connections (or raises if it could
    not start, e.g. the port is in use); `stop()` shuts it down gracefully.
    """

    def __init__(self, app: object, host: str = "127.0.0.1", port: int = 0, **options: object):
        import threading

        self.host = host
        self._socket = bound_socket(host, port)
        self.port: int = self._socket.getsockname()[1]
        self.server = build_server(app, host, self.port, **options)  # type: ignore[arg-type]
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn-{self.port}",
                                        daemon=True)
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self._socket])
        except BaseException as error:  # reported by start()
            self.error = error

    def start(self, timeout: float = 15.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start: {self.error!r}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        stop_server(self.server)
        self._thread.join(timeout)
        self._socket.close()
