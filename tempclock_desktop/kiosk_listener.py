"""The kiosk's own listener for tablets and phones on the local network.

The API stays on this computer; when the admin turns the kiosk listener on (Server
panel), a second embedded server serves only the kiosk pages (`/kiosk/*`) on the
address and port they chose, with TLS when they gave a certificate and its key. It
follows the API: up while the API is up, stopped with it.
"""

from __future__ import annotations

import socket

from PySide6.QtCore import QObject, QTimer, Signal

from tempclock_desktop.server import FAILED, RUNNING, STOPPED, STOPPING, EmbeddedServer, url_for
from tempclock_desktop.session import Session

ALL_ADDRESSES = ("0.0.0.0", "::", "")  # noqa: S104 - the admin's explicit choice
NO_TLS_WARNING = (
    "Without a certificate the kiosk is served over plain HTTP: workers' PINs cross your "
    "network unencrypted, and phones will not install the kiosk, keep punches while offline "
    "or share their location, since browsers allow those only over HTTPS. Give a TLS "
    "certificate and its private key (PEM files, from your IT provider) to serve HTTPS.")


def _kiosk_app() -> object:
    from tempclock.api.http.kiosk import create_kiosk_app  # the one `tempclock serve` runs

    return create_kiosk_app()


def lan_address() -> str:
    """This computer's address on the local network (the one its default route uses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # a documentation address: nothing is sent
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


class KioskListener(QObject):
    """Serves the kiosk to the local network while the API runs, when the admin wants it."""

    state_changed = Signal(str)

    def __init__(self, session: Session, api: EmbeddedServer, parent: QObject | None = None,
                 ) -> None:
        super().__init__(parent)
        self.session = session
        self.api = api
        self.server = EmbeddedServer(_kiosk_app, self)
        self.server.state_changed.connect(self.state_changed)
        api.state_changed.connect(self._follow_api)

    @property
    def enabled(self) -> bool:
        return self.session.settings.kiosk_host is not None

    @property
    def state(self) -> str:
        return self.server.state

    @property
    def problem(self) -> str | None:
        """Why the listener is not running, in words (None when nothing went wrong)."""
        server = self.server
        if server.state != FAILED:
            return None
        if server.port_in_use:
            return (f"Port {server.port} is already in use by another program, so tablets and "
                    "phones cannot reach the kiosk. Choose another port.")
        return (f"The kiosk listener could not start on {server.host}:{server.port}. Check that "
                "the address is one of this computer's and that the certificate and key files "
                "belong together.")

    def base_url(self) -> str:
        """Where tablets and phones find the kiosk: the listener's address on the local
        network when it is on, else the API's address (this computer only)."""
        settings = self.session.settings
        if not self.enabled:
            api = self.api
            return url_for(api.host, api.port, api.tls[0] is not None) if api.running else \
                url_for(settings.host, settings.port, settings.tls_files[0] is not None)
        host = settings.kiosk_host or ""
        shown = lan_address() if host in ALL_ADDRESSES else host
        port = self.server.port if self.server.running else settings.kiosk_port
        return url_for(shown, port, settings.kiosk_tls_files[0] is not None)

    def start(self) -> None:
        """Start serving the kiosk, if it is turned on and the API is up."""
        settings = self.session.settings
        if self.enabled and self.api.running:
            self.server.start(settings.kiosk_host or "", settings.kiosk_port,
                              settings.kiosk_tls_files)

    def restart(self) -> None:
        """Serve again with the saved settings (after the admin changed them)."""
        state = self.server.state
        if state in (STOPPED, FAILED):
            self.start()
            return

        def again(state: str) -> None:
            if state == STOPPED:
                self.server.state_changed.disconnect(again)
                QTimer.singleShot(0, self, self.start)

        self.server.state_changed.connect(again)
        if state != STOPPING:
            self.server.stop()

    def _follow_api(self, state: str) -> None:
        if state == RUNNING:
            self.start()
        elif state in (STOPPING, FAILED, STOPPED):
            self.server.stop()

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop and wait (on quit), `timeout` s at most (None: the server's own bound)."""
        self.server.shutdown(timeout)
