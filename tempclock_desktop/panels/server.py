"""Server & settings: start and stop the API, where it listens, webhook delivery, log
retention, the data folder, accounts. A port already in use is shown here with a free port
to switch to; a delivery process that died, with a way to restart it."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.config import DEFAULT_HOST
from tempclock.api.services import accounts
from tempclock_desktop import dispatcher as delivery
from tempclock_desktop import session as kinds
from tempclock_desktop.dispatcher import EmbeddedDispatcher
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.panels.kiosk_card import KioskCard
from tempclock_desktop.server import (
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    EmbeddedServer,
    free_port_near,
)
from tempclock_desktop.settings import HOURS_FORMATS, LAN_HOST
from tempclock_desktop.widgets import Banner, Card, button, combo_pick, fill_combo, label

LAN_WARNING = (
    "Other computers on your network will be able to reach the API. Anyone there who has a "
    "valid key can read and change your agency's data. Without a certificate, requests and "
    "their keys cross the network unencrypted: give a TLS certificate and its private key "
    "(PEM files, from your IT provider or a certificate authority) to serve HTTPS instead. "
    "Only choose this when an integration runs on another machine.")


class ServerPanel(Panel):
    title = "Server & settings"
    subtitle = "The API this computer serves to your integrations, and where TempClock keeps data."
    icon_name = "server"
    depends_on = (kinds.ACCOUNTS,)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.server: EmbeddedServer | None = None
        self.dispatcher: EmbeddedDispatcher | None = None
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(12)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(page)
        self.content.addWidget(scroll, 1)
        self.kiosk_card = KioskCard(session)
        for card in (self._port_banner(), self._status_card(), self._delivery_card(),
                     self._listen_card(), self.kiosk_card):
            column.addWidget(card)
        column.addLayout(self._settings_row())
        column.addStretch(1)
        self._load_listen_settings()

    def _port_banner(self) -> Banner:
        # Port in use: the message and a free port to switch to.
        self.port_banner = Banner("danger")
        self.suggested_port = QSpinBox()
        self.suggested_port.setRange(1, 65535)
        self.use_port_button = button("Use this port and start", role="primary",
                                      on_click=self._use_suggested_port)
        self.port_banner.actions.addWidget(label("Port"))
        self.port_banner.actions.addWidget(self.suggested_port)
        self.port_banner.actions.addWidget(self.use_port_button)
        return self.port_banner

    def _status_card(self) -> Card:
        status = Card()
        top = QHBoxLayout()
        texts = QVBoxLayout()
        self.state_label = label("", "SectionTitle")
        texts.addWidget(self.state_label)
        self.url_label = label("", "Muted")
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        texts.addWidget(self.url_label)
        top.addLayout(texts, 1)
        self.copy_url_button = button("Copy URL", "copy", on_click=self._copy_url)
        self.docs_button = button("Open API docs", "browser", on_click=self.open_docs)
        self.start_button = button("Start API", "play", role="primary",
                                   on_click=self.start_server)
        self.stop_button = button("Stop API", "stop", role="danger", on_click=self.stop_server)
        for widget in (self.copy_url_button, self.docs_button, self.stop_button,
                       self.start_button):
            top.addWidget(widget)
        status.body.addLayout(top)
        self.exposure_label = label("", wrap=True)
        self.exposure_label.setStyleSheet("color: #b45309;")
        status.body.addWidget(self.exposure_label)
        return status

    def _delivery_card(self) -> Card:
        sender = Card()
        row = QHBoxLayout()
        texts = QVBoxLayout()
        self.delivery_label = label("", "SectionTitle")
        texts.addWidget(self.delivery_label)
        self.delivery_text = label("", "Muted", wrap=True)
        texts.addWidget(self.delivery_text)
        row.addLayout(texts, 1)
        self.restart_delivery_button = button("Restart delivery", "play", role="primary",
                                              on_click=self.restart_delivery)
        row.addWidget(self.restart_delivery_button, 0, Qt.AlignmentFlag.AlignVCenter)
        sender.body.addLayout(row)
        return sender

    def _listen_card(self) -> Card:
        listen = Card()
        listen.body.addWidget(label("Where the API listens", "SectionTitle"))
        self.loopback = QRadioButton("This computer only (127.0.0.1) — recommended")
        self.lan = QRadioButton("This computer and the local network (all addresses, 0.0.0.0)")
        group = QButtonGroup(self)
        group.addButton(self.loopback)
        group.addButton(self.lan)
        self.lan.toggled.connect(lambda _on: self._exposure_changed())
        listen.body.addWidget(self.loopback)
        listen.body.addWidget(self.lan)
        self.lan_warning = Banner("warning")
        self.lan_warning.show_message(LAN_WARNING)
        listen.body.addWidget(self.lan_warning)
        listen.body.addWidget(self._tls_fields())
        port_row = QHBoxLayout()
        port_row.addWidget(label("Port"))
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setMinimumWidth(110)
        port_row.addWidget(self.port)
        port_row.addStretch(1)
        self.apply_button = button("Save and restart the API", role="primary",
                                   on_click=self.apply_listen_settings)
        port_row.addWidget(self.apply_button)
        listen.body.addLayout(port_row)
        return listen

    def _tls_fields(self) -> QWidget:
        # HTTPS on the LAN: the certificate and key files (both, or neither for plain HTTP).
        self.tls_fields = QWidget()
        tls_form = QGridLayout(self.tls_fields)
        tls_form.setContentsMargins(0, 0, 0, 0)
        self.certfile = QLineEdit()
        self.certfile.setPlaceholderText("Certificate file (.pem), for HTTPS")
        self.keyfile = QLineEdit()
        self.keyfile.setPlaceholderText("Its private key file (.pem)")
        for row, (text, field) in enumerate((("TLS certificate", self.certfile),
                                             ("Private key", self.keyfile))):
            tls_form.addWidget(label(text), row, 0)
            tls_form.addWidget(field, row, 1)
        self.tls_error = label("", wrap=True)
        self.tls_error.setStyleSheet("color: #b91c1c;")
        self.tls_error.hide()
        tls_form.addWidget(self.tls_error, 2, 0, 1, 2)
        return self.tls_fields

    def _settings_row(self) -> QGridLayout:
        grid = QGridLayout()
        grid.setSpacing(12)
        for n, card in enumerate((self._retention_card(), self._data_card(),
                                  self._accounts_card())):
            grid.addWidget(card, 0, n)
        grid.addWidget(self._display_card(), 1, 0)
        return grid

    def _retention_card(self) -> Card:
        logs = Card()
        logs.body.addWidget(label("API log retention", "SectionTitle"))
        logs.body.addWidget(label("How long this account's API request logs and webhook "
                                  "delivery records are kept; older ones are deleted in the "
                                  "background.", "Muted", wrap=True))
        retention_row = QHBoxLayout()
        self.retention = QSpinBox()
        self.retention.setRange(1, 3650)
        self.retention.setSuffix(" days")
        self.retention.setMinimumWidth(120)
        retention_row.addWidget(self.retention)
        self.retention_button = button("Save", on_click=self.save_retention)
        retention_row.addWidget(self.retention_button)
        retention_row.addStretch(1)
        logs.body.addLayout(retention_row)
        logs.body.addStretch(1)
        return logs

    def _data_card(self) -> Card:
        data = Card()
        data.body.addWidget(label("Data", "SectionTitle"))
        self.data_dir = QLineEdit(str(self.session.config.data_dir))
        self.data_dir.setReadOnly(True)
        data.body.addWidget(label("Data directory", "Muted"))
        data.body.addWidget(self.data_dir)
        data.body.addWidget(label(f"Database: {self.session.config.database_label}", "Muted",
                                  wrap=True))
        data.body.addWidget(button("Open folder", "folder", on_click=self._open_data_dir))
        return data

    def _accounts_card(self) -> Card:
        people = Card()
        people.body.addWidget(label("Accounts", "SectionTitle"))
        people.body.addWidget(label("One account per organisation: its data, keys and logs "
                                    "are kept apart. Switch accounts in the sidebar.", "Muted",
                                    wrap=True))
        row = QHBoxLayout()
        row.addWidget(button("New account…", "add", on_click=self.new_account))
        row.addWidget(button("Rename…", "edit", on_click=self.rename_account))
        row.addStretch(1)
        people.body.addLayout(row)
        self.guide_button = button("Show the getting-started guide", "play",
                                   on_click=lambda: self.open_requested.emit("guide"))
        people.body.addWidget(self.guide_button)
        people.body.addStretch(1)
        return people

    # --- the server -------------------------------------------------------------------

    def attach(self, server: EmbeddedServer, dispatcher: EmbeddedDispatcher) -> None:
        self.server = server
        server.state_changed.connect(lambda _state: self._show_state())
        server.failed.connect(self._failed)
        self._show_state()
        if server.state == FAILED and server.error:
            self._failed(server.error, server.port_in_use)
        self.dispatcher = dispatcher
        dispatcher.state_changed.connect(lambda _state: self._show_delivery())
        self._show_delivery()

    def restart_delivery(self) -> None:
        """Start the dispatcher process again (after it died, or before the API runs)."""
        if self.dispatcher is not None:
            self.dispatcher.start()

    def _show_delivery(self) -> None:
        dispatcher = self.dispatcher
        if dispatcher is None:
            return
        state = dispatcher.state
        self.delivery_label.setText({
            delivery.RUNNING: "Webhook delivery is on",
            delivery.FAILED: "Webhook delivery stopped unexpectedly",
        }.get(state, "Webhook delivery is off"))
        about = ("A separate process sends webhooks and connector pushes (such as CRM push) "
                 "as events happen, retrying for a day when a receiver is down.")
        self.delivery_text.setText({
            delivery.RUNNING: about,
            delivery.FAILED: f"{dispatcher.error} Events keep being recorded and nothing is "
                             "lost: they are sent once delivery runs again.",
        }.get(state, f"{about} It starts with the API; events wait until it runs."))
        self.delivery_text.setToolTip(f"Delivery process {dispatcher.pid}"
                                      if state == delivery.RUNNING else "")
        self.restart_delivery_button.setVisible(state != delivery.RUNNING)
        self.restart_delivery_button.setText("Restart delivery" if state == delivery.FAILED
                                             else "Start delivery")

    def start_server(self, host: str | None = None, port: int | None = None) -> bool:
        """Start the API with the saved host and port (or those given)."""
        assert self.server is not None
        settings = self.session.settings
        self.port_banner.hide()
        return self.server.start(host or settings.host, settings.port if port is None else port,
                                 settings.tls_files)

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.stop()

    def _failed(self, message: str, port_in_use: bool) -> None:
        message = html.escape(message)
        if not port_in_use:
            self.port_banner.show_message(f"<b>The API is not running.</b> {message}")
            self.suggested_port.hide()
            self.use_port_button.setText("Try again")
            return
        host = self.session.settings.host
        suggestion = free_port_near(host, self.session.settings.port + 1) or 0
        self.suggested_port.setValue(suggestion or self.session.settings.port)
        self.suggested_port.show()
        self.use_port_button.setText("Use this port and start")
        self.port_banner.show_message(f"<b>The API is not running.</b> {message}")

    def _use_suggested_port(self) -> None:
        port = self.suggested_port.value() if self.suggested_port.isVisible() else None
        if port is not None:
            self.session.settings.port = port
            self.session.save_settings()
            self.port.setValue(port)
        self.start_server()

    def _show_state(self) -> None:
        server = self.server
        if server is None:
            return
        state = server.state
        running = state == RUNNING
        self.state_label.setText({
            RUNNING: "The API is running",
            STARTING: "The API is starting…",
            STOPPED: "The API is stopped",
            FAILED: "The API is not running",
        }.get(state, "The API is stopping…"))
        self.url_label.setText(f"Integrations use {server.api_url}" if running else
                               "Integrations cannot reach TempClock until it is started.")
        self.start_button.setVisible(state in (STOPPED, FAILED))
        self.stop_button.setVisible(state in (RUNNING, STARTING))
        self.docs_button.setEnabled(running)
        self.copy_url_button.setEnabled(running)
        from tempclock.api.server import exposure_warning  # loaded with the web stack

        warning = exposure_warning(server.host, server.port) if running else None
        https = server.tls[0] is not None
        self.exposure_label.setText("Exposed on the local network: other computers can reach "
                                    f"this API{' over HTTPS' if https else ', unencrypted'}."
                                    if warning else "")
        self.exposure_label.setVisible(bool(warning))
        if running:
            self.port_banner.hide()
            self.port.setValue(server.port)  # the port in effect

    def open_docs(self) -> None:
        """The interactive API docs, served by the API itself (works offline)."""
        if self.server is not None and self.server.running:
            QDesktopServices.openUrl(QUrl(self.server.docs_url))

    def _copy_url(self) -> None:
        if self.server is not None:
            QGuiApplication.clipboard().setText(self.server.api_url)

    # --- listen settings ------------------------------------------------------------

    def _load_listen_settings(self) -> None:
        settings = self.session.settings
        (self.lan if settings.lan_exposed else self.loopback).setChecked(True)
        self.port.setValue(settings.port)
        self.certfile.setText(settings.certfile or "")
        self.keyfile.setText(settings.keyfile or "")
        self._exposure_changed()

    def _exposure_changed(self) -> None:
        self.lan_warning.setVisible(self.lan.isChecked())
        self.tls_fields.setVisible(self.lan.isChecked())

    def _tls_refusal(self, certfile: str, keyfile: str) -> str | None:
        if bool(certfile) != bool(keyfile):
            return "Give both the certificate and its private key, or neither (plain HTTP)."
        missing = [f for f in (certfile, keyfile) if f and not Path(f).is_file()]
        return f"No such file: {missing[0]}" if missing else None

    def apply_listen_settings(self) -> None:
        """Save host, port and the TLS files, and restart the API on them."""
        settings = self.session.settings
        certfile, keyfile = self.certfile.text().strip(), self.keyfile.text().strip()
        refusal = self.lan.isChecked() and self._tls_refusal(certfile, keyfile)
        self.tls_error.setText(refusal or "")
        self.tls_error.setVisible(bool(refusal))
        if refusal:
            return
        settings.host = LAN_HOST if self.lan.isChecked() else DEFAULT_HOST
        settings.port = self.port.value()
        settings.certfile, settings.keyfile = certfile or None, keyfile or None
        self.session.save_settings()
        server = self.server
        if server is None:
            return
        if server.state in (RUNNING, STARTING):
            def restart(state: str) -> None:
                if state == STOPPED:
                    server.state_changed.disconnect(restart)
                    self.start_server()

            server.state_changed.connect(restart)
            server.stop()
        else:
            self.start_server()

    # --- how values read -----------------------------------------------------------

    def _display_card(self) -> Card:
        card = Card()
        card.body.addWidget(label("Hours", "SectionTitle"))
        card.body.addWidget(label("How worked hours read in Timesheets: in the table, the "
                                  "totals and the entry details alike.", "Muted", wrap=True))
        self.hours_format = QComboBox()
        fill_combo(self.hours_format, HOURS_FORMATS)
        combo_pick(self.hours_format, self.session.settings.hours_format)
        self.hours_format.activated.connect(lambda _i: self.set_hours_format(
            self.hours_format.currentData()))
        card.body.addWidget(self.hours_format)
        card.body.addStretch(1)
        return card

    def set_hours_format(self, style: str) -> None:
        """Show hours as `style` ("decimal" or "minutes") everywhere, from now on."""
        self.session.settings.hours_format = style
        self.session.save_settings()
        self.session.notify(kinds.DISPLAY, self)

    # --- account settings ----------------------------------------------------------

    def reload(self) -> None:
        account = self.session.account
        if account is not None:
            self.retention.setValue(account.log_retention_days)

    def save_retention(self) -> None:
        account_id, days = self.session.account_id, self.retention.value()
        Operation(self, lambda: accounts.set_log_retention(account_id, days),
                  success=self.session.update_account).run()

    def new_account(self) -> None:
        name, ok = QInputDialog.getText(self, "New account", "Organisation name:")
        if not ok or not name.strip():
            return

        def created(account: accounts.Account) -> None:
            found = [*self.session.accounts, account]
            self.session.set_accounts(found)
            self.session.choose_account(account.id)

        Operation(self, lambda: accounts.create_account(name), success=created).run()

    def rename_account(self) -> None:
        account = self.session.account
        if account is None:
            return
        name, ok = QInputDialog.getText(self, "Rename account", "Organisation name:",
                                        text=account.name)
        if ok and name.strip():
            Operation(self, lambda: accounts.rename_account(account.id, name),
                      success=lambda renamed: self.session.set_accounts(
                          [renamed if a.id == renamed.id else a
                           for a in self.session.accounts])).run()

    def _open_data_dir(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.session.config.data_dir)))
