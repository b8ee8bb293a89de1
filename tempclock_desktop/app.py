"""Starting the desktop app: the store, the window, the embedded API and its event
dispatcher; and stopping it all.

`Desktop.start()` is what `tempclock` (no arguments), `tempclock desktop` and the
`tempclock-desktop` GUI script run; tests and the screenshot script use it too.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tempclock.api.config import Config, load_config
from tempclock.api.store import close_store, open_store
from tempclock_desktop import theme
from tempclock_desktop.dispatcher import EmbeddedDispatcher
from tempclock_desktop.main_window import MainWindow
from tempclock_desktop.operations import cancel_operations, wait_for_operations
from tempclock_desktop.server import RUNNING, EmbeddedServer
from tempclock_desktop.session import Session
from tempclock_desktop.settings import load_settings

if TYPE_CHECKING:
    from tempclock.plugins.manager import PluginHost

log = logging.getLogger(__name__)

STOP_OPERATIONS_MS = 1000  # cancelled background work gets this long; the app stops within 5 s


def application(argv: list[str] | None = None) -> QApplication:
    """The one QApplication, styled; it keeps running while only the tray icon shows."""
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("TempClock")
    app.setApplicationDisplayName("TempClock")
    app.setOrganizationName("TempClock")
    app.setQuitOnLastWindowClosed(False)
    theme.apply(app)
    return app


@dataclass
class Desktop:
    """A running desktop: the window, what it works on, the server and the dispatcher."""

    config: Config
    session: Session
    server: EmbeddedServer
    dispatcher: EmbeddedDispatcher
    window: MainWindow
    stopped: bool = field(default=False, init=False)

    @classmethod
    def start(cls, config: Config, *, serve: bool | None = None, port: int | None = None,
              plugins: PluginHost | None = None) -> Desktop:
        """Open the store (creating the data directory), build the window, start the API.

        `serve` overrides the saved "start the API" setting; `port` the saved port, for
        this run only (0: any free port); the API is built and served once the window
        has painted (it reports `starting` until then). `plugins` replaces the installed
        plugins, loaded otherwise when a panel first needs them. Whenever the API comes up, the
        dispatcher process is started too if it is not running; it runs until `stop()`.
        """
        open_store(config)
        settings = load_settings(config)
        session = Session(config, settings, plugins)
        server = EmbeddedServer()
        dispatcher = EmbeddedDispatcher(config)

        def deliver_while_serving(state: str) -> None:
            if state == RUNNING:
                dispatcher.start()

        server.state_changed.connect(deliver_while_serving)
        window = MainWindow(session, server, dispatcher)
        if settings.start_server if serve is None else serve:
            server.hold_until(window.first_painted)  # the window shows first, then the API
            server.start(settings.host, settings.port if port is None else port,
                         settings.tls_files)
        return cls(config, session, server, dispatcher, window)

    def stop(self) -> None:
        """Stop the API (in-flight requests finish, logs flush) and the dispatcher (sends in
        flight are recorded), cancel and wait for background work, close the store.
        Stopping twice does nothing more."""
        if self.stopped:
            return
        self.stopped = True
        self.window.quitting = True
        cancel_operations()  # a long connector run stops while the rest shuts down
        self._stop_serving_together()
        self.window.close()
        wait_for_operations(STOP_OPERATIONS_MS)
        QApplication.processEvents()
        self.window.deleteLater()
        QApplication.processEvents()
        self.session.close_plugins()
        close_store()


    def _stop_serving_together(self) -> None:
        """The API, the kiosk listener (it follows the API) and the dispatcher are told to
        stop at once, then waited for on one deadline, as `tempclock serve` does: one after
        the other, their graceful waits added up beyond the 5 s a stop promises."""
        from tempclock.api.dispatcher import PLUGINS_STOP_S, STOP_TIMEOUT_S

        deadline = time.monotonic() + STOP_TIMEOUT_S + PLUGINS_STOP_S
        self.dispatcher.ask_to_stop()
        self.server.stop()

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        self.window.kiosk.shutdown(left())
        self.server.shutdown(left())
        self.dispatcher.shutdown(left())


def run(data_dir: str | Path | None = None, argv: list[str] | None = None) -> int:
    """Run the desktop app until the admin quits; returns the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    app = application(argv)
    try:
        config = load_config(data_dir)
    except ValueError as error:  # TEMPCLOCK_PORT (from the environment) is not a port
        log.error("could not start: %s", error)
        QMessageBox.critical(None, "TempClock could not start",
                             f"A setting is not usable. {error}.\n\n"
                             "Correct it, or remove it to use the usual port, and start "
                             "TempClock again.")
        return 1
    try:
        desktop = Desktop.start(config)
    except Exception as error:  # noqa: BLE001 - shown to the admin, then exit
        log.exception("could not start")
        QMessageBox.critical(None, "TempClock could not start",
                             f"TempClock could not open its data in {config.data_dir}:\n\n{error}")
        return 1
    desktop.window.show()
    _quit_on_signals(desktop)
    try:
        code = app.exec()
    finally:
        desktop.stop()
    if not wait_for_operations(0):
        # Background work that ignores its cancellation would hold the exit for ever (Qt
        # waits for its pool's threads): the store is closed and the logs flushed, so go.
        log.warning("background work still running at exit is abandoned")
        logging.shutdown()
        os._exit(code)
    return code


def _quit_on_signals(desktop: Desktop) -> None:
    """Ctrl+C, SIGTERM or a closed terminal (SIGHUP) quits like the Quit command: the API
    stops gracefully first. Windows has no SIGHUP."""
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), lambda _n, _f: desktop.window.quit())
    # Python runs signal handlers only between bytecodes: wake it now and then.
    tick = QTimer(desktop.window)
    tick.timeout.connect(lambda: None)
    tick.start(250)


def main() -> None:
    """Entry point of the `tempclock-desktop` GUI script."""
    sys.exit(run())
