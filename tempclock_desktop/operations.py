"""The one way panels run database work: `Operation`, off the GUI thread.

Modelled on Anki's `QueryOp`: the operation is a plain function that calls
`api/services` and touches no widget; `success` receives its result on the GUI
thread; `failure` receives the exception there too, and when no failure callback
is given the error is shown to the admin in words. A callback whose `parent`
widget has been destroyed meanwhile is dropped, so closing a dialog mid-load is safe.
A long operation can take a `cancel` event it checks now and then; quitting sets it.

    Operation(self, lambda: workers.list_workers(account_id),
              success=self._show_workers).run()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from tempclock_desktop.messages import show_error

T = TypeVar("T")
log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]

_pool = QThreadPool()
_pool.setMaxThreadCount(4)
_pool.setExpiryTimeout(-1)  # keep threads, so each keeps its one database connection


class _Relay(QObject):
    """Lives on the GUI thread; the pool thread emits, Qt queues the call to its slots."""

    finished = Signal(object, object)  # result, error
    progressed = Signal(int, int, str)

    def __init__(self, on_finished: Callable[[Any, Any], None],
                 on_progress: Callable[[int, int, str], None]) -> None:
        super().__init__()
        self._on_finished = on_finished
        self._on_progress = on_progress
        self.finished.connect(self._finish)
        self.progressed.connect(self._progress)

    @Slot(object, object)
    def _finish(self, result: Any, error: Any) -> None:
        self._on_finished(result, error)

    @Slot(int, int, str)
    def _progress(self, done: int, total: int, what: str) -> None:
        self._on_progress(done, total, what)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._fn = fn
        self._relay = relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as error:  # noqa: BLE001 - every failure goes back to the GUI
            self._relay.finished.emit(None, error)
        else:
            self._relay.finished.emit(result, None)


class _Tracker(QObject):
    """Counts running operations, so the window can show activity and shutdown can wait."""

    busy_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.running = 0

    def change(self, delta: int) -> None:
        before = self.running
        self.running += delta
        if (before == 0) != (self.running == 0):
            self.busy_changed.emit(self.running > 0)


activity = _Tracker()
_live: set[Operation[Any]] = set()


class Operation(Generic[T]):
    """Run `op` on the background pool and deliver its outcome on the GUI thread.

    `op` must not touch widgets: read what it needs from them before, as values.
    With `progress`, `op` is called with one argument, a `report(done, total, what)`
    function it may call from the pool thread; `progress` receives each report on
    the GUI thread. `cancel` is an event `op` watches; `cancel_operations()` sets it.
    """

    def __init__(
        self,
        parent: QObject,
        op: Callable[..., T],
        *,
        success: Callable[[T], None] | None = None,
        failure: Callable[[BaseException], None] | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self._parent = parent
        self._op = op
        self._success = success
        self._failure = failure
        self._progress = progress
        self.cancel = cancel
        self._relay: _Relay | None = None

    def run(self) -> None:
        """Start the operation; returns at once."""
        relay = _Relay(self._deliver, self._report)
        fn: Callable[[], Any] = self._op
        if self._progress is not None:
            report = relay.progressed.emit
            fn = lambda: self._op(report)  # noqa: E731
        self._relay = relay
        _live.add(self)
        activity.change(+1)
        _pool.start(_Task(fn, relay))

    def _alive(self) -> bool:
        return shiboken6.isValid(self._parent)

    def _report(self, done: int, total: int, what: str) -> None:
        if self._alive() and self._progress is not None:
            self._progress(done, total, what)

    def _deliver(self, result: Any, error: BaseException | None) -> None:
        _live.discard(self)
        activity.change(-1)
        if self._relay is not None:
            self._relay.deleteLater()
            self._relay = None
        if not self._alive():
            return
        if error is None:
            if self._success is not None:
                self._success(result)
            return
        if self._failure is not None:
            self._failure(error)
        else:
            show_error(self._parent, error)


def cancel_operations() -> None:
    """Ask every running operation that can be cancelled to stop (on quit)."""
    for operation in list(_live):
        if operation.cancel is not None:
            operation.cancel.set()


def wait_for_operations(timeout_ms: int = 10_000) -> bool:
    """Block until every started operation has finished on the pool (shutdown, tests).

    Their callbacks are still queued to the GUI thread; process events to deliver them.
    """
    return _pool.waitForDone(timeout_ms)


def running_operations() -> int:
    """How many operations have started and not yet delivered their outcome."""
    return activity.running
