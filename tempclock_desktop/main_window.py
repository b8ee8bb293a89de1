"""The main window: a sidebar of panels, the account switcher, the state of the server and
of webhook delivery in the status bar and the system tray, and the question on close
whether to keep the API running."""

from __future__ import annotations

import html
import importlib
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import accounts
from tempclock_desktop import dispatcher as delivery
from tempclock_desktop import theme
from tempclock_desktop.backups import BackupSchedule
from tempclock_desktop.dispatcher import EmbeddedDispatcher
from tempclock_desktop.first_run import DEFAULT_ACCOUNT_NAME
from tempclock_desktop.kiosk_listener import KioskListener
from tempclock_desktop.lateness_alerts import LatenessAlerts
from tempclock_desktop.messages import show_error
from tempclock_desktop.operations import Operation, activity
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.server import FAILED, RUNNING, STARTING, STOPPING, EmbeddedServer
from tempclock_desktop.session import ACCOUNTS, Session
from tempclock_desktop.widgets import label

GUIDE = "guide"  # the getting-started guide's entry in the sidebar (not a panel of SECTIONS)
PRELOAD_GAP_MS = 20  # between loading two panels' modules after start-up: input goes first
DIALOG_ACTIONS = ("add", "clock_in", "issue")  # open over the page shown, not a page of their own



@dataclass(frozen=True)
class PanelEntry:
    """A panel's entry in the sidebar: its name and icon, and where its class lives.

    The class (and what its module imports) loads when the panel is first shown, so
    start-up does not load every screen (bench/desktop_cold_start.py); the name and icon
    repeat the class's own, which tests/desktop/test_desktop_start_up.py holds them to.
    """

    title: str
    icon_name: str
    where: str  # "module:Class" under tempclock_desktop.panels

    def load(self) -> type[Panel]:
        module, _, name = self.where.partition(":")
        return getattr(importlib.import_module(f"tempclock_desktop.panels.{module}"), name)


SECTIONS: tuple[tuple[str, tuple[tuple[str, PanelEntry], ...]], ...] = (
    ("TODAY", (("on_site", PanelEntry("On site now", "on_site", "on_site:OnSitePanel")),)),
    ("TIME", (("shifts", PanelEntry("Shifts", "shifts", "shifts:ShiftsPanel")),
              ("timesheets", PanelEntry("Timesheets", "timesheets",
                                        "timesheets:TimesheetsPanel")))),
    ("PEOPLE & SITES", (
        ("workers", PanelEntry("Workers", "workers", "workers:WorkersPanel")),
        ("locations", PanelEntry("Locations", "locations", "locations:LocationsPanel")),
        ("departments", PanelEntry("Departments", "departments",
                                   "catalogue:DepartmentsPanel")),
        ("cost_codes", PanelEntry("Cost codes", "cost_codes", "catalogue:CostCodesPanel")))),
    ("INTEGRATIONS", (
        ("connectors", PanelEntry("Connectors", "connectors", "connectors:ConnectorsPanel")),
        ("webhooks", PanelEntry("Webhooks", "webhooks", "webhooks:WebhooksPanel")))),
    ("API & SETTINGS", (
        ("api_keys", PanelEntry("API keys", "api_keys", "api_keys:ApiKeysPanel")),
        ("api_logs", PanelEntry("API logs", "api_logs", "api_logs:ApiLogsPanel")),
        ("server", PanelEntry("Server & settings", "server", "server:ServerPanel")),
        ("backups", PanelEntry("Backups", "backups", "backups:BackupsPanel")))),
)

STATE_TEXT = {
    "stopped": "API stopped",
    "starting": "API starting…",
    "running": "API running",
    "stopping": "API stopping…",
    "failed": "API not running",
}
STATE_COLOUR = {"running": "#16a34a", "starting": "#f59e0b", "stopping": "#f59e0b",
                "failed": "#dc2626", "stopped": "#9ca3af"}
ACCESS_OFF_COLOUR = "#d97706"  # running, but the account's integrations are refused
LINK_STYLE = "color:#b45309; font-weight:600"
DELIVERY_TEXT = {
    delivery.RUNNING: "Webhook delivery on",
    delivery.STOPPED: "Webhook delivery off",
    delivery.FAILED: "Webhook delivery stopped",
}


def accounts_at_start() -> tuple[list[accounts.Account], bool]:
    """Every account, and whether this is a first run: an empty data directory gets a
    default account, so the window has something to show (and the guide something to name)."""
    found = accounts.list_accounts()
    if found:
        return found, False
    return [accounts.create_account(DEFAULT_ACCOUNT_NAME)], True


def accounts_for_desktop() -> list[accounts.Account]:
    """Every account (a default one made on first run)."""
    return accounts_at_start()[0]


def _dot(colour: str) -> str:
    return f"<span style='color:{colour}; font-size:13pt'>●</span>"


class MainWindow(QMainWindow):
    """The admin's window onto one agency account and the API it serves."""

    ready = Signal()  # the accounts are loaded and the first panel shows data
    first_painted = Signal()  # drawn on screen once: slower start-up work may begin

    def __init__(self, session: Session, server: EmbeddedServer,
                 dispatcher: EmbeddedDispatcher) -> None:
        super().__init__()
        self.session = session
        self.server = server
        self.dispatcher = dispatcher
        self.backup_schedule = BackupSchedule(session, self)  # the daily backup, while it runs
        self.kiosk = KioskListener(session, server, self)  # the kiosk for the local network
        self._pill_lines = {"server": "", "delivery": ""}
        self.quitting = False
        self.painted = False
        self.setWindowTitle("TempClock")
        self.resize(1360, 840)
        self.setMinimumSize(QSize(1024, 640))

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._sidebar())
        self.stack = QStackedWidget()
        self.stack.setObjectName("PanelArea")
        self.panel_area = QVBoxLayout()  # the page, below any notice for the admin
        self.panel_area.setContentsMargins(0, 0, 0, 0)
        self.panel_area.addWidget(self.stack, 1)
        layout.addLayout(self.panel_area, 1)
        self.setCentralWidget(central)

        # Panels are built the first time they are shown: start-up stays quick.
        self.panels: dict[str, Panel] = {}
        self._panel_types: dict[str, PanelEntry] = {}
        self.guide = None  # the getting-started guide, built when first shown
        self.guide_item = QListWidgetItem(theme.icon("play", theme.SIDEBAR_INK),
                                          "Getting started")
        self.guide_item.setData(Qt.ItemDataRole.UserRole, GUIDE)
        self.guide_item.setSizeHint(QSize(0, 36))
        self.nav.addItem(self.guide_item)
        self.guide_item.setHidden(not session.settings.guide_pending)
        for caption, entries in SECTIONS:
            header = QListWidgetItem(caption)
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.nav.addItem(header)
            for key, entry in entries:
                self._panel_types[key] = entry
                item = QListWidgetItem(theme.icon(entry.icon_name, theme.SIDEBAR_INK),
                                       entry.title)
                item.setToolTip(f"{entry.title} (Ctrl+{len(self._panel_types)})"
                                if len(self._panel_types) <= 9 else entry.title)
                item.setData(Qt.ItemDataRole.UserRole, key)
                item.setSizeHint(QSize(0, 36))
                self.nav.addItem(item)
        self.nav.currentItemChanged.connect(self._nav_changed)
        self._shortcuts()
        self._to_preload = list(self._panel_types.values())
        self.first_painted.connect(self._preload_next)

        self._status_bar()
        self.tray = self._tray()
        self.lateness_alerts = LatenessAlerts(session, self.tray, self)
        self.panel_area.insertWidget(0, self.lateness_alerts.banner)
        self.lateness_alerts.show_board.connect(lambda: (self.bring_to_front(),
                                                         self.show_panel("on_site")))
        session.accounts_changed.connect(self._accounts_changed)
        session.account_changed.connect(self._account_changed)
        server.state_changed.connect(self._server_state)
        session.account_changed.connect(lambda _account: self._server_state(server.state))
        session.data_changed.connect(
            lambda kind, _source: self._server_state(server.state) if kind == ACCOUNTS else None)
        self._server_state(server.state)
        dispatcher.state_changed.connect(self._delivery_state)
        self._delivery_state(dispatcher.state)
        self.show_panel("on_site")
        Operation(self, accounts_at_start, success=self._accounts_loaded).run()
        server.failed.connect(lambda _message, _in_use: self.show_panel("server"))
        if server.state == FAILED:  # it failed before the window existed
            self.show_panel("server")

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self.painted:
            self.painted = True
            QTimer.singleShot(0, self.first_painted.emit)  # once this paint is on screen

    def _preload_next(self) -> None:
        """Load the panels' modules one per event-loop turn once the window is up, so the
        first click on a panel does not wait for its code and the window stays responsive."""
        if self._to_preload and not self.quitting:
            self._to_preload.pop(0).load()
            QTimer.singleShot(PRELOAD_GAP_MS, self._preload_next)

    # --- building -----------------------------------------------------------------

    def _sidebar(self) -> QWidget:
        bar = QFrame()
        bar.setObjectName("Sidebar")
        bar.setFixedWidth(236)
        column = QVBoxLayout(bar)
        column.setContentsMargins(0, 16, 0, 12)
        column.setSpacing(8)
        brand = QHBoxLayout()
        brand.setContentsMargins(16, 0, 16, 0)
        logo = QLabel()
        logo.setPixmap(theme.pixmap("logo", None, 34))
        brand.addWidget(logo)
        names = QVBoxLayout()
        names.setSpacing(0)
        title = QLabel("TempClock")
        title.setObjectName("AppTitle")
        names.addWidget(title)
        subtitle = QLabel("Time & attendance")
        subtitle.setObjectName("AppSubtitle")
        names.addWidget(subtitle)
        brand.addLayout(names, 1)
        column.addLayout(brand)

        self.account_box = QWidget()
        box = QVBoxLayout(self.account_box)
        box.setContentsMargins(16, 8, 16, 0)
        box.setSpacing(4)
        caption = QLabel("ACCOUNT")
        caption.setObjectName("SidebarCaption")
        box.addWidget(caption)
        self.account_switcher = QComboBox()
        self.account_switcher.setObjectName("AccountSwitcher")
        self.account_switcher.activated.connect(self._switcher_used)
        box.addWidget(self.account_switcher)
        self.account_name = label("", "AppTitle")
        self.account_name.setStyleSheet("font-size: 10.5pt;")
        box.addWidget(self.account_name)
        column.addWidget(self.account_box)

        self.nav = QListWidget()
        self.nav.setObjectName("NavList")
        self.nav.setIconSize(QSize(18, 18))
        self.nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        column.addWidget(self.nav, 1)

        self.server_pill = QLabel()
        self.server_pill.setObjectName("ServerPill")
        self.server_pill.setTextFormat(Qt.TextFormat.RichText)
        self.server_pill.setWordWrap(True)
        self.server_pill.linkActivated.connect(self.open_target)
        pill_row = QHBoxLayout()
        pill_row.setContentsMargins(12, 0, 12, 0)
        pill_row.addWidget(self.server_pill)
        column.addLayout(pill_row)
        return bar

    def _status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(False)
        self.server_status = QLabel()
        self.server_status.setTextFormat(Qt.TextFormat.RichText)
        self.server_status.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.server_status.linkActivated.connect(self.open_target)
        bar.addWidget(self.server_status)
        self.delivery_status = QLabel()
        self.delivery_status.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self.delivery_status, 1)
        self.activity_label = QLabel("")
        self.activity_label.setObjectName("Muted")
        bar.addPermanentWidget(self.activity_label)
        self.data_label = label(str(self.session.config.database_label), "Muted")
        bar.addPermanentWidget(self.data_label)
        activity.busy_changed.connect(self._busy)

    def _busy(self, busy: bool) -> None:
        self.activity_label.setText("Working…" if busy else "")

    def _tray(self) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None
        tray = QSystemTrayIcon(theme.icon("tray_down", None, 64), self)
        menu = QMenu(self)
        open_action = QAction("Open TempClock", self)
        open_action.triggered.connect(self.bring_to_front)
        menu.addAction(open_action)
        self.tray_server_action = QAction("Stop the API", self)
        self.tray_server_action.triggered.connect(self._tray_toggle_server)
        menu.addAction(self.tray_server_action)
        menu.addSeparator()
        quit_action = QAction("Quit TempClock", self)
        quit_action.triggered.connect(self.quit)
        menu.addAction(quit_action)
        tray.setContextMenu(menu)
        tray.activated.connect(
            lambda reason: self.bring_to_front()
            if reason == QSystemTrayIcon.ActivationReason.Trigger else None)
        tray.show()
        return tray

    def _shortcuts(self) -> None:
        """Ctrl+1… opens the panels in sidebar order; F5 reloads the one shown."""
        for n, key in enumerate(self._panel_types, start=1):
            if n > 9:
                break
            action = QAction(self)
            action.setShortcut(QKeySequence(f"Ctrl+{n}"))
            action.triggered.connect(lambda _checked=False, key=key: self.show_panel(key))
            self.addAction(action)
        reload = QAction(self)
        reload.setShortcut(QKeySequence(Qt.Key.Key_F5))
        reload.triggered.connect(lambda: self._current_panel().refresh())
        self.addAction(reload)

    def _current_panel(self) -> Panel:
        widget = self.stack.currentWidget()
        assert isinstance(widget, Panel)
        return widget

    # --- navigation and accounts --------------------------------------------------

    def panel(self, key: str) -> Panel:
        """The panel called `key`, built now if it has not been shown yet."""
        panel = self.panels.get(key)
        if panel is None:
            panel = self._panel_types[key].load()(self.session)
            panel.open_requested.connect(self.open_target)
            self._connect_panel(key, panel)
            self.panels[key] = panel
            self.stack.addWidget(panel)
        return panel

    def _connect_panel(self, key: str, panel: Panel) -> None:
        """What some panels need from the window: the server, the dispatcher, its links."""
        if key == "server":
            panel.attach(self.server, self.dispatcher)  # type: ignore[attr-defined]
            panel.kiosk_card.attach(self.kiosk)  # type: ignore[attr-defined]
        elif key == "locations":
            panel.kiosk_listener = self.kiosk  # type: ignore[attr-defined]
        elif key == "webhooks":
            panel.attach(self.dispatcher)  # type: ignore[attr-defined]
        elif key == "backups":
            panel.attach(self.server, self.dispatcher,  # type: ignore[attr-defined]
                         self.backup_schedule)
        elif key == "connectors":
            panel.deliveries_requested.connect(  # type: ignore[attr-defined]
                self._show_connector_deliveries)
        elif key == "api_logs":
            panel.revoke_requested.connect(self._revoke_from_logs)  # type: ignore[attr-defined]
            panel.replace_requested.connect(self._replace_from_logs)  # type: ignore[attr-defined]

    def show_panel(self, key: str) -> Panel:
        """Bring a panel to the front (its sidebar entry is selected)."""
        for row in range(self.nav.count()):
            if self.nav.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.nav.setCurrentRow(row)
        return self.panel(key)

    def _nav_changed(self, item: QListWidgetItem | None, _previous) -> None:
        if item is None:
            return
        key = item.data(Qt.ItemDataRole.UserRole)
        if key == GUIDE:
            self.stack.setCurrentWidget(self._guide())
        elif key in self._panel_types:
            panel = self.panel(key)
            if panel.stale:
                panel.refresh()  # its data loads while the page is laid out and painted
            self.stack.setCurrentWidget(panel)

    def open_target(self, target: str) -> None:
        """Open what a panel, the guide or a status link asks for: "panel" shows a panel;
        "panel/action" also starts the action (an add or clock-in dialog opens over the page
        shown; "connectors/ats-csv" shows that connector)."""
        key, _, action = target.partition("/")
        if key == GUIDE:
            guide = self.show_guide()
            if action:
                guide.go_to_step(action)
            return
        panel = self.panel(key) if action in DIALOG_ACTIONS else self.show_panel(key)
        if action == "add":
            panel.open_editor(None)  # type: ignore[attr-defined]
        elif action in ("clock_in", "issue"):
            getattr(panel, action)()
        elif action and key == "connectors":
            panel.select_connector(action)  # type: ignore[attr-defined]

    # --- the getting-started guide -----------------------------------------------------

    def _guide(self):
        if self.guide is None:
            from tempclock_desktop.guide import GuidePage  # built only when first shown

            self.guide = GuidePage(self.session)
            self.guide.attach(self.server)
            self.guide.open_requested.connect(self.open_target)
            self.guide.closed.connect(self._guide_closed)
            self.stack.addWidget(self.guide)
        return self.guide

    def show_guide(self):
        """Show the getting-started guide (it opens at start until finished or skipped)."""
        if not self.session.settings.guide_pending:
            self.session.settings.guide_pending = True
            self.session.save_settings()
        self.guide_item.setHidden(False)
        self.nav.setCurrentItem(self.guide_item)
        return self._guide()

    def _guide_closed(self, _finished: bool) -> None:
        self.session.settings.guide_pending = False
        self.session.save_settings()
        self.show_panel("on_site")
        self.guide_item.setHidden(True)

    def _accounts_loaded(self, loaded: tuple[list[accounts.Account], bool]) -> None:
        found, first_run = loaded
        self.session.set_accounts(found)
        if first_run:
            self.session.settings.guide_pending = True
            self.session.save_settings()
        # A server that failed to start keeps the admin on the Server panel.
        if self.session.settings.guide_pending and self.server.state != FAILED:
            self.show_guide()
        self.ready.emit()

    def _accounts_changed(self, found: list[accounts.Account]) -> None:
        self.account_switcher.blockSignals(True)
        self.account_switcher.clear()
        for account in found:
            self.account_switcher.addItem(account.name, account.id)
        self.account_switcher.blockSignals(False)
        several = len(found) > 1
        self.account_switcher.setVisible(several)
        self.account_name.setVisible(not several)
        self._account_changed(self.session.account)

    def _account_changed(self, account: accounts.Account | None) -> None:
        if account is None:
            return
        index = self.account_switcher.findData(account.id)
        if index >= 0:
            self.account_switcher.setCurrentIndex(index)
        self.account_name.setText(account.name)
        self.setWindowTitle(f"TempClock — {account.name}")

    def _switcher_used(self, index: int) -> None:
        account_id = self.account_switcher.itemData(index)
        if account_id is not None:
            self.session.choose_account(account_id)

    def reload_accounts(self) -> None:
        """Read the account list again (after one was added or renamed)."""
        Operation(self, accounts.list_accounts, success=self.session.set_accounts).run()

    def _show_connector_deliveries(self, connector_id: str) -> None:
        self.show_panel("webhooks").show_connector_deliveries(  # type: ignore[attr-defined]
            connector_id)

    def _revoke_from_logs(self, key_id: int, name: str, prefix: str) -> None:
        self.panel("api_keys").revoke(key_id, name, prefix)  # type: ignore[attr-defined]

    def _replace_from_logs(self, key_id: int) -> None:
        self.show_panel("api_keys").issue(like=key_id)  # type: ignore[attr-defined]

    # --- the server -------------------------------------------------------------------

    def _server_state(self, state: str) -> None:
        server = self.server
        colour = STATE_COLOUR[state]
        account = self.session.account
        if state == RUNNING and account is not None and not account.api_enabled:
            # Up, but this account's integrations are refused: not the green "all is well".
            name = html.escape(account.name)
            turn_on = f"<a href='api_keys' style='{LINK_STYLE}'>Turn it on…</a>"
            text = (f"{_dot(ACCESS_OFF_COLOUR)} API running at "
                    f"{html.escape(server.api_url)} · access off for {name}: integrations "
                    f"are refused. {turn_on}")
            pill = f"{_dot(ACCESS_OFF_COLOUR)} API running · access off<br>{turn_on}"
        elif state == RUNNING:
            text = f"{_dot(colour)} API running at <b>{html.escape(server.api_url)}</b>"
            pill = (f"{_dot(colour)} API running<br><span style='color:#94a3b8'>"
                    f"{html.escape(server.url)}</span>")
        elif state == FAILED:
            text = f"{_dot(colour)} API not running: {html.escape(server.error or '')}"
            pill = f"{_dot(colour)} API not running"
        elif state in (STARTING, STOPPING):
            text = pill = f"{_dot(colour)} {STATE_TEXT[state]}"
        else:
            text = pill = f"{_dot(colour)} API stopped"
        if state == RUNNING and server.warning:
            text += " · <span style='color:#b45309'>exposed on the local network</span>"
        self.server_status.setText(text)
        self._pill_lines["server"] = pill
        self.server_pill.setText("<br>".join(self._pill_lines.values()))
        if self.tray is not None:
            name = "tray_up" if state == RUNNING else ("tray_error" if state == FAILED
                                                        else "tray_down")
            self.tray.setIcon(theme.icon(name, None, 64))
            access_off = account is not None and not account.api_enabled
            self.tray.setToolTip(f"TempClock — {STATE_TEXT[state]}"
                                 + (f" at {server.url}" if state == RUNNING else "")
                                 + (" · access off" if state == RUNNING and access_off else ""))
            self.tray_server_action.setText("Stop the API" if state == RUNNING
                                            else "Start the API")

    def _delivery_state(self, state: str) -> None:
        dot = _dot(STATE_COLOUR[state])
        text = f"{dot} {DELIVERY_TEXT[state]}"
        self.delivery_status.setText(
            text + (f": {html.escape(self.dispatcher.error or '')} Restart it in Server "
                    "&amp; settings." if state == delivery.FAILED else ""))
        self._pill_lines["delivery"] = text
        self.server_pill.setText("<br>".join(self._pill_lines.values()))

    def _tray_toggle_server(self) -> None:
        if self.server.running:
            self.server.stop()
        else:
            self.panel("server").start_server()  # type: ignore[attr-defined]

    # --- closing --------------------------------------------------------------------

    def bring_to_front(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.quitting or not self.server.running or self.tray is None:
            self.quitting = True
            event.accept()
            QApplication.instance().quit()
            return
        event.ignore()
        self.ask_keep_running()

    def ask_keep_running(self) -> QMessageBox:
        """Closing with the API up: keep serving from the tray, or quit altogether."""
        box = QMessageBox(QMessageBox.Icon.Question, "Keep the API running?",
                          "Integrations can keep using the TempClock API while this window is "
                          "closed. TempClock stays in the system tray; open it again from "
                          "there.", QMessageBox.StandardButton.NoButton, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        keep = box.addButton("Keep running in tray", QMessageBox.ButtonRole.AcceptRole)
        keep.setProperty("role", "primary")
        quit_button = box.addButton("Quit and stop the API", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)

        def answered(button) -> None:
            if button is keep:
                self.hide()
                if self.tray is not None:
                    self.tray.showMessage("TempClock is still running",
                                          f"The API keeps serving at {self.server.url}.",
                                          QSystemTrayIcon.MessageIcon.Information, 4000)
            elif button is quit_button:
                self.quit()

        box.buttonClicked.connect(answered)
        box.open()
        return box

    def quit(self) -> None:
        self.quitting = True
        self.close()

    def show_error(self, error: BaseException) -> None:
        show_error(self, error)
