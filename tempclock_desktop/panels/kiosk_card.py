"""The Server panel's kiosk card: offer the kiosk to tablets and phones on the local network
(address, port, certificate and key), with a clear warning when it would be plain HTTP."""

from __future__ import annotations

import html
import ipaddress
from pathlib import Path

from PySide6.QtWidgets import QCheckBox, QGridLayout, QHBoxLayout, QLineEdit, QSpinBox, QWidget

from tempclock_desktop.kiosk_listener import NO_TLS_WARNING, KioskListener
from tempclock_desktop.server import FAILED, RUNNING, STARTING
from tempclock_desktop.session import Session
from tempclock_desktop.settings import LAN_HOST
from tempclock_desktop.widgets import Banner, Card, button, label

ABOUT = ("Workers clock in with their PIN on a tablet at the site or on their phones. This "
         "computer always serves the kiosk to itself; turn this on so tablets and phones on "
         "your network can reach it. The kiosk listener serves the kiosk pages and nothing "
         "else: the API stays where it is.")


class KioskCard(Card):
    """Kiosk listener settings, saved in the desktop's settings and applied at once."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.listener: KioskListener | None = None
        self.body.addWidget(label("Kiosk for tablets and phones", "SectionTitle"))
        self.body.addWidget(label(ABOUT, "Muted", wrap=True))
        self.offer = QCheckBox("Offer the kiosk to the local network")
        self.offer.toggled.connect(lambda _on: self._show_fields())
        self.body.addWidget(self.offer)
        self.fields = self._fields()
        self.body.addWidget(self.fields)
        self.no_tls_warning = Banner("warning")
        self.no_tls_warning.show_message(html.escape(NO_TLS_WARNING))
        self.body.addWidget(self.no_tls_warning)
        self.refusal = label("", wrap=True)
        self.refusal.setStyleSheet("color: #b91c1c;")
        self.body.addWidget(self.refusal)
        row = QHBoxLayout()
        self.status = label("", wrap=True)
        row.addWidget(self.status, 1)
        self.save_button = button("Save kiosk settings", role="primary", on_click=self.save)
        row.addWidget(self.save_button)
        self.body.addLayout(row)
        self._load()

    def _fields(self) -> QWidget:
        box = QWidget()
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.host = QLineEdit()
        self.host.setPlaceholderText("0.0.0.0 (every network this computer is on)")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setMinimumWidth(110)
        self.certfile = QLineEdit()
        self.certfile.setPlaceholderText("Certificate file (.pem), for HTTPS")
        self.keyfile = QLineEdit()
        self.keyfile.setPlaceholderText("Its private key file (.pem)")
        self.host.setMaximumWidth(360)
        self.port.setMaximumWidth(110)
        for n, (text, field) in enumerate((("Address", self.host), ("Port", self.port),
                                           ("TLS certificate", self.certfile),
                                           ("Private key", self.keyfile))):
            grid.addWidget(label(text), n, 0)
            grid.addWidget(field, n, 1)
        for field in (self.certfile, self.keyfile):
            field.textChanged.connect(lambda _text: self._show_fields())
        return box

    def _load(self) -> None:
        settings = self.session.settings
        self.offer.setChecked(settings.kiosk_host is not None)
        self.host.setText(settings.kiosk_host or LAN_HOST)
        self.port.setValue(settings.kiosk_port)
        self.certfile.setText(settings.kiosk_certfile or "")
        self.keyfile.setText(settings.kiosk_keyfile or "")
        self.refusal.hide()
        self._show_fields()

    def _show_fields(self) -> None:
        offered = self.offer.isChecked()
        self.fields.setVisible(offered)
        plain = not (self.certfile.text().strip() and self.keyfile.text().strip())
        self.no_tls_warning.setVisible(offered and plain)

    def attach(self, listener: KioskListener) -> None:
        """Show the state of the kiosk listener the desktop runs."""
        self.listener = listener
        listener.state_changed.connect(lambda _state: self.show_state())
        self.show_state()

    def show_state(self) -> None:
        listener = self.listener
        if listener is None:
            return
        state = listener.state
        if not listener.enabled:
            text = "Off: only this computer can open the kiosk."
        elif state == RUNNING:
            text = f"Tablets and phones on your network reach the kiosk at {listener.base_url()}"
        elif state == STARTING:
            text = "The kiosk listener is starting…"
        elif state == FAILED:
            text = listener.problem or ""
        else:
            text = "The kiosk listener starts with the API."
        self.status.setText(text)
        self.status.setStyleSheet("color: #b91c1c;" if state == FAILED else "")

    def check(self) -> str | None:
        """Why the settings on screen cannot be used (None when they can)."""
        if not self.offer.isChecked():
            return None
        host = self.host.text().strip()
        if not host or not _is_address(host):
            return "Give an address of this computer, such as 0.0.0.0 for every network."
        settings = self.session.settings
        if self.port.value() == settings.port:
            return (f"The kiosk needs a port of its own: the API already uses port "
                    f"{settings.port}.")
        certfile, keyfile = self.certfile.text().strip(), self.keyfile.text().strip()
        if bool(certfile) != bool(keyfile):
            return "Give both the certificate and its private key, or neither (plain HTTP)."
        missing = [f for f in (certfile, keyfile) if f and not Path(f).is_file()]
        return f"No such file: {missing[0]}" if missing else None

    def save(self) -> bool:
        """Save the kiosk settings and restart the kiosk listener on them."""
        refusal = self.check()
        self.refusal.setText(refusal or "")
        self.refusal.setVisible(bool(refusal))
        if refusal:
            return False
        settings = self.session.settings
        offered = self.offer.isChecked()
        settings.kiosk_host = self.host.text().strip() if offered else None
        settings.kiosk_port = self.port.value()
        settings.kiosk_certfile = self.certfile.text().strip() or None
        settings.kiosk_keyfile = self.keyfile.text().strip() or None
        self.session.save_settings()
        if self.listener is not None:
            self.listener.restart()
            self.show_state()
        return True


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return all(c.isascii() and (c.isalnum() or c in ".-") for c in host)
    return True
