"""The event dispatcher run beside the embedded API: a process of its own (`api.dispatcher`).

It delivers webhooks and feeds connectors from the outbox, so a slow receiver or a busy
plugin never slows the API or the window. It is watched with a timer like the server:
a process that dies is reported (`failed`) and started again only when asked. It runs
until the app quits: `shutdown()` sets its stop event and waits for it, the one blocking call.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from api import dispatcher
from api.config import Config

log = logging.getLogger(__name__)

STOPPED, RUNNING, FAILED = "stopped", "running", "failed"
STOP_TIMEOUT_S = 10.0
WATCH_MS = 500


class EmbeddedDispatcher(QObject):
    """Starts, watches and stops the dispatcher process; reports its state by signal."""

    state_changed = Signal(str)

    def __init__(self, config: Config,
                 start_process: Callable[[Config], tuple[Any, Any]] = dispatcher.start_process,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self._start_process = start_process
        self.state = STOPPED
        self.error: str | None = None
        self.process: multiprocessing.Process | None = None
        self._stop_event: Any = None
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
            self.process, self._stop_event = self._start_process(self.config)
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

    def shutdown(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop and wait (on quit): sends in flight are recorded, the process ends."""
        process = self.process
        self._watch.stop()
        if process is None:
            return
        if self._stop_event is not None:
            self._stop_event.set()
        process.join(timeout)
        if process.is_alive():
            log.warning("the dispatcher did not stop within %s s; terminating it", timeout)
            process.terminate()
            process.join(2)
        self._reap()
        if self.state != FAILED:
            self._set_state(STOPPED)

    def _reap(self) -> None:
        if self.process is not None and not self.process.is_alive():
            self.process.close()
        self.process = None
        self._stop_event = None

    def _fail(self, message: str) -> None:
        self.error = message
        self._reap()
        self._set_state(FAILED)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
