"""The API served inside the desktop app: `uvicorn.Server.run()` on a background thread.

The listening socket is bound on the GUI thread before the thread starts, so a
port in use is known at once and reported (`failed` with `port_in_use`), never
a thread that died quietly. The app itself is built on the server thread (it
takes a moment). Start-up and shutdown are watched with a short timer, so the
GUI thread never waits; `shutdown()` (on quit) is the one call that blocks, for
the graceful timeout at most, so in-flight requests finish and logs are flushed.

The web stack (uvicorn, Litestar) is imported on the server thread, never at import
time, and the thread can be held (`hold_until`) until the window has painted
once: loading it takes a good share of a second of CPU, which the first paint must not
wait for (bench/desktop_cold_start.py).
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, SignalInstance

from tempclock.api.sockets import bound_socket

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)

STOPPED, STARTING, RUNNING, STOPPING, FAILED = "stopped", "starting", "running", "stopping", "failed"


def _default_app() -> object:
    from tempclock.api.http.app import create_app

    return create_app()


def free_port_near(host: str, port: int, tries: int = 50) -> int | None:
    """The first port from `port` on that can be bound now (a suggestion for the admin)."""
    for candidate in range(port, min(port + tries, 65536)):
        try:
            bound_socket(host, candidate).close()
        except OSError:
            continue
        return candidate
    return None


def url_for(host: str, port: int, tls: bool = False) -> str:
    """The address integrators use (a LAN-wide bind is shown as this machine's loopback)."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    shown = f"[{shown}]" if ":" in shown else shown
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def _stop_serving(server: uvicorn.Server) -> None:
    from tempclock.api.server import stop_server

    stop_server(server)


class EmbeddedServer(QObject):
    """Starts, watches and stops the API server thread; reports its state by signal."""

    state_changed = Signal(str)
    failed = Signal(str, bool)  # message for the admin, whether the port was in use

    def __init__(self, app_factory: Callable[[], object] = _default_app,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app_factory = app_factory
        self.state = STOPPED
        self.host = "127.0.0.1"
        self.port = 0
        self.tls: tuple[str | None, str | None] = (None, None)  # certificate, key
        self.error: str | None = None
        self.port_in_use = False
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._go = threading.Event()  # the server thread builds the app once this is set
        self._go.set()
        self._watch = QTimer(self)
        self._watch.setInterval(25)
        self._watch.timeout.connect(self._check)

    @property
    def url(self) -> str:
        return url_for(self.host, self.port, self.tls[0] is not None)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1/"

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    @property
    def warning(self) -> str | None:
        """The plain warning shown while the API is reachable from other machines."""
        from tempclock.api.server import exposure_warning

        return exposure_warning(self.host, self.port, tls=self.tls[0] is not None)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    def start(self, host: str, port: int,
              tls: tuple[str | None, str | None] = (None, None)) -> bool:
        """Start serving on host:port (HTTPS with `tls`, a certificate and its key files);
        False (and `failed`) when it cannot even bind."""
        if self.state in (STARTING, RUNNING, STOPPING):
            return True
        self.host, self.port, self.tls, self.error = host, port, tls, None
        try:
            sock = bound_socket(host, port)
        except OSError as error:
            in_use = error.errno in (errno.EADDRINUSE, errno.EACCES)
            message = (f"Port {port} is already in use by another program, so the API could "
                       "not start. Choose another port." if error.errno == errno.EADDRINUSE
                       else f"The API could not listen on {host}:{port}: "
                            f"{error.strerror or error}")
            self._fail(message, in_use)
            return False
        self.port = sock.getsockname()[1]  # port 0 asks the system for a free one
        self._thread_error = None
        self._server = None
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True,
                                        name=f"tempclock-api-{self.port}")
        self._set_state(STARTING)
        self._thread.start()
        self._watch.start()
        return True

    def hold_until(self, signal: SignalInstance) -> None:
        """Bind and report `starting` as usual, but build and serve the app only once
        `signal` fires (the window's first paint); stopping releases the hold too."""
        self._go.clear()
        signal.connect(self._go.set)

    def _serve(self, sock: socket.socket) -> None:
        try:
            self._go.wait()
            from tempclock.api.server import GRACEFUL_TIMEOUT_S, build_server

            app = self._app_factory()
            certfile, keyfile = self.tls
            server = build_server(app, self.host, self.port,
                                  graceful_timeout=GRACEFUL_TIMEOUT_S,
                                  certfile=certfile and Path(certfile),
                                  keyfile=keyfile and Path(keyfile))
            server.config.log_config = None  # the desktop keeps the process's logging
            self._server = server
            server.run(sockets=[sock])
        except BaseException as error:  # noqa: BLE001 - uvicorn exits with SystemExit
            self._thread_error = error
            log.exception("the API server stopped with an error")
        finally:
            sock.close()

    def _check(self) -> None:
        thread, server = self._thread, self._server
        alive = thread is not None and thread.is_alive()
        if self.state == STARTING:
            if server is not None and server.started and alive:
                self._set_state(RUNNING)
            elif not alive:
                self._watch.stop()
                reason = self._thread_error
                self._fail("The API server could not start"
                           + (f": {reason}" if reason and str(reason) else "."), False)
        elif self.state == RUNNING and not alive:
            self._watch.stop()
            self._fail("The API server stopped unexpectedly.", False)
        elif self.state == STOPPING and not alive:
            self._watch.stop()
            self._thread = None
            self._set_state(STOPPED)

    def stop(self) -> None:
        """Ask the server to finish in-flight requests and stop; `state_changed` says when."""
        if self.state not in (STARTING, RUNNING):
            return
        self._go.set()
        if self._server is not None:
            _stop_serving(self._server)
        else:
            self._stop_when_built()
        self._set_state(STOPPING)
        self._watch.start()

    def _stop_when_built(self) -> None:
        # Asked to stop before the app was built: stop as soon as the server exists.
        def later() -> None:
            if self._server is not None:
                _stop_serving(self._server)
            elif self._thread is not None and self._thread.is_alive():
                QTimer.singleShot(10, self, later)

        QTimer.singleShot(10, self, later)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop and wait (on quit): requests finish, logs are flushed, the thread ends."""
        thread = self._thread
        if thread is None:
            return
        from tempclock.api.server import GRACEFUL_TIMEOUT_S

        self._go.set()
        deadline = threading.Event()
        while self._server is None and thread.is_alive() and not deadline.wait(0.01):
            pass
        if self._server is not None:
            _stop_serving(self._server)
        thread.join(GRACEFUL_TIMEOUT_S + 1 if timeout is None else timeout)
        self._watch.stop()
        self._thread = None
        if self.state != FAILED:
            self._set_state(STOPPED)

    def _fail(self, message: str, port_in_use: bool) -> None:
        self.error = message
        self.port_in_use = port_in_use
        self._thread = None
        self._set_state(FAILED)
        self.failed.emit(message, port_in_use)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
