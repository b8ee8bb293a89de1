"""The event dispatcher run beside the embedded API: a process of its own (`tempclock.api.dispatcher`).

It delivers webhooks and feeds connectors from the outbox, so a slow receiver or a busy
plugin never slows the API or the window. It is watched with a timer like the server:
a process that dies is reported (`failed`) and started again only when asked. It runs
until the app quits: `shutdown()` tells it to stop and waits a bounded time, the one blocking call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from tempclock.api.config import Config

if TYPE_CHECKING:
    from tempclock.api.dispatcher import DispatcherProcess

log = logging.getLogger(__name__)

STOPPED, RUNNING, FAILED = "stopped", "running", "failed"
WATCH_MS = 500


def start_dispatcher(config: Config) -> DispatcherProcess:
    """The dispatcher process; its module (services, plugins) loads only when it starts, so
    the window's first paint does not wait for it (bench/desktop_cold_start.py)."""
    from tempclock.api import dispatcher

    return dispatcher.start_process(config)


class EmbeddedDispatcher(QObject):
    """Starts, watches and stops the dispatcher process; reports its state by signal."""

    state_changed = Signal(str)

    def __init__(self, config: Config,
                 start_process: Callable[[Config], DispatcherProcess] = start_dispatcher,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._start_process = start_process
        self.state = STOPPED
        self.error: str | None = None
        self.process: DispatcherProcess | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(WATCH_MS)
        self._watch.timeout.connect(self._check)

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the process unless it runs already (after a failure: start a fresh one)."""
        if self.state == RUNNING:
            return
        self.error = None
        try:
            self.process = self._start_process(self.config)
        except Exception as error:  # noqa: BLE001 - shown to the admin, the app carries on
            log.exception("could not start the dispatcher")
            self._fail(f"The delivery process could not start: {error}")
            return
        self._set_state(RUNNING)
        self._watch.start()

    def _check(self) -> None:
        process = self.process
        alive = process is not None and process.is_alive()
        if self.state == RUNNING and not alive:
            self._watch.stop()
            code = process.exitcode if process is not None else None
            self._fail("The delivery process stopped unexpectedly"
                       + (f" (exit code {code})." if code is not None else "."))

    def ask_to_stop(self) -> None:
        """Tell the process to stop without waiting (on quit, while the server stops)."""
        if self.process is not None:
            self.process.ask_to_stop()

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop and wait (on quit): sends in flight are recorded, the process ends, in a
        bounded time (`DispatcherProcess.stop`; `timeout` s when given, then killed)."""
        process = self.process
        self._watch.stop()
        if process is None:
            return
        if timeout is None:
            process.stop()
        else:
            process.stop(timeout)
        self.process = None
        if self.state != FAILED:
            self._set_state(STOPPED)

    def _fail(self, message: str) -> None:
        self.error = message
        if self.process is not None:
            self.process.stop()  # it has exited: this only reaps it
        self.process = None
        self._set_state(FAILED)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
