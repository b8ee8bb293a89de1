"""Connectors: the installed connector plugins, their switch and settings per account, runs
with progress and Cancel, and the history of runs with every bad row and the run log.

Plugins that failed to load are listed plainly: which plugin, what failed, the message,
and the traceback on request. The settings form is generated from what the connector
declares; a run uses the values on screen (Save keeps them for next time).
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import connectors, plugin_problems
from tempclock.api.services.connectors import ConnectorConfig, ConnectorRun
from tempclock.api.services.display import printable
from tempclock.plugins.connectors import Connector
from tempclock.plugins.manager import LoadedConnector, PluginHost, PluginProblem
from tempclock_desktop import session as kinds
from tempclock_desktop import theme
from tempclock_desktop.connector_form import ConnectorSettingsForm, choice_text
from tempclock_desktop.formatting import clock, when, when_precise
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.tables import NONE, RecordTable
from tempclock_desktop.widgets import Banner, Card, button, hline, label, panes

KIND_TEXT = {"ats": "ATS", "crm": "CRM", "payroll": "Payroll", "hooks": "Add-on"}
CAPABILITY_TEXT = {"import_workers": "Imports workers",
                   "export_timesheets": "Exports timesheets",
                   "receive_events": "Sends events as they happen"}
RUNNABLE = frozenset({"import_workers", "export_timesheets"})
STAGE_TEXT = {"import": "could not be imported",
              "register": "was refused",
              "register_connectors": "failed while registering its connectors",
              "crash": "was running when the plugin process died",
              "receive_event": "failed while receiving an event"}
COUNT_ORDER = ("created", "updated", "unchanged", "deactivated", "rows", "entries", "open_entries",
               "excluded_entries", "errors")
SHOWN_BAD_ROWS = 1000  # in the run detail; the history keeps up to 10,000
PROGRESS_EVERY_S = 0.05  # a connector may report per row: pass on at most this often


@dataclass(frozen=True)
class InstalledConnector:
    """A loaded connector with the account's switch and saved settings (one row of the list)."""

    loaded: LoadedConnector
    config: ConnectorConfig

    @property
    def id(self) -> str:
        return self.loaded.connector.id

    @property
    def connector(self) -> Connector:
        return self.loaded.connector

    @property
    def runnable(self) -> bool:
        return bool(RUNNABLE & set(self.connector.capabilities))


class HookPluginSettings(Connector):
    """A hook plugin's settings (`TEMPCLOCK_SETTINGS`), listed and edited like a connector's:
    its hooks run on their own, so it has nothing to run and no switch."""

    kind = "hooks"

    def __init__(self, plugin: Mapping[str, object]) -> None:
        self.id = self.name = str(plugin["name"])
        self.version = str(plugin["version"] or "")
        self.settings = tuple(plugin["settings"])  # type: ignore[arg-type]
        hooks = ", ".join(str(h).replace("_", " ") for h in plugin["hooks"]  # type: ignore[union-attr]
                          if h != "register_connectors")
        self.description = f"Reacts to: {hooks}." if hooks else ""


def installed_connectors(host: PluginHost, account_id: int) -> list[InstalledConnector]:
    """Every loaded connector, and every hook plugin with settings, by name, with the
    account's configuration (on the pool)."""
    found = list(host.connectors.values()) + [
        LoadedConnector(HookPluginSettings(plugin), str(plugin["name"]), plugin["package"],
                        plugin["version"])
        for plugin in host.plugins if plugin["settings"]]
    found.sort(key=lambda c: c.connector.name.casefold())
    return [InstalledConnector(loaded, connectors.get_config(account_id, loaded.connector.id))
            for loaded in found]


def counts_text(counts: Mapping[str, int]) -> str:
    """`5 created · 1 updated · 2 errors`, in a stable order."""
    def rank(name: str) -> tuple[int, str]:
        return (COUNT_ORDER.index(name) if name in COUNT_ORDER else len(COUNT_ORDER), name)

    # A connector counts under its own names: `open_entries` reads "open entries".
    return " · ".join(f"{counts[name]:,} {name.replace('_', ' ')}"
                      for name in sorted(counts, key=rank)) or "—"


FIRST_PARTY = "tempclock"  # the package the first-party connectors ship in


def source_text(loaded: LoadedConnector) -> str:
    """Where a connector comes from, in words: built in, or the add-on that brought it."""
    if loaded.package is None:
        return "Added on this computer"
    return "Built in" if loaded.package == FIRST_PARTY else f"Add-on {loaded.package}"


def source_detail(loaded: LoadedConnector) -> str:
    """Where it comes from, technically (package, version, plugin): for a tooltip."""
    package = (f"package {loaded.package} {loaded.package_version or ''}".strip()
               if loaded.package else "no package")
    return f"{package} · plugin {loaded.plugin}"


def took(run: ConnectorRun) -> str:
    if run.finished_at is None:
        return ""
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def throttled(report: Callable[[int, int, str], None],
              every: float = PROGRESS_EVERY_S) -> Callable[[int, int | None, str], None]:
    """A connector's `on_progress` that passes reports on at most every `every` seconds
    (and always the last one); an unknown total is passed as 0."""
    last = [0.0]

    def on_progress(done: int, total: int | None, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= every or (total is not None and done >= total):
            last[0] = now
            report(done, total or 0, message)

    return on_progress


def status_text(run: ConnectorRun) -> str:
    """A run's outcome in a word or two: a success with items to check says so."""
    if run.status == "succeeded" and run.needs_attention:
        return "Needs attention"
    return run.status.capitalize()


def attention_summary(run: ConnectorRun) -> str:
    """`2 things need attention`, or empty when there is nothing to check."""
    n = len(run.needs_attention)
    if not n:
        return ""
    return f"{n:,} thing{'s' if n != 1 else ''} need{'s' if n == 1 else ''} attention"


def plain_html(text: str) -> str:
    """A plugin's words (what it passes on from outside systems, too) as rich text shows them
    plainly: markup escaped, and hidden characters (bidi overrides, zero-width, control)
    written as escapes, as the CLI and the API log views show them."""
    return html.escape(printable(text, keep_newlines=True))


def run_detail_html(run: ConnectorRun, connector_name: str) -> str:
    """What the run detail view shows: outcome, counts, every bad row, the log."""
    esc = plain_html
    kind = "Dry run" if run.dry_run else "Run"
    parts = [f"<p><b>{esc(connector_name)} · {kind} · {esc(run.status.capitalize())}</b>"
             f"<br><span style='color:#64748b'>Started {when_precise(run.started_at)}"
             + (f" · took {took(run)}" if run.finished_at else "") + "</span></p>"]
    if run.dry_run:
        parts.append("<p>Nothing was written: a dry run only shows what would change.</p>")
    if run.message:
        parts.append(f"<p style='color:#b91c1c'>{esc(run.message)}</p>")
    if run.needs_attention:
        items = "".join(f"<li>{esc(item)}</li>" for item in run.needs_attention)
        parts.append(f"<p style='color:#b45309'><b>Needs attention ({len(run.needs_attention):,})"
                     "</b>: check these before using what the run produced.</p>"
                     f"<ul>{items}</ul>")
    parts.append(f"<p><b>Counts:</b> {esc(counts_text(run.counts))}</p>")
    if run.errors:
        shown = run.errors[:SHOWN_BAD_ROWS]
        cells = "".join(f"<tr><td style='padding:1px 12px 1px 0; color:#64748b'>Line {e.line}"
                        f"</td><td>{esc(e.reason)}</td></tr>" for e in shown)
        more = len(run.errors) - len(shown)
        parts.append(f"<p><b>Rows not imported ({len(run.errors):,})</b></p><table>{cells}</table>"
                     + (f"<p>…and {more:,} more.</p>" if more > 0 else ""))
    if run.log:
        parts.append("<p><b>Log</b></p><pre style='white-space:pre-wrap'>"
                     + esc("\n".join(run.log)) + "</pre>")
    return "".join(parts)


# A connector that never ran: what to do first (settings, then a dry run to check them).
NO_RUNS = ("No runs yet. Fill in the settings on the left and save them, then press Dry run "
           "to see what would change without changing anything, or Run to do it.")

class PluginProblems(QFrame):
    """Plugins that failed to load: which one, what failed and the message; details on request."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        self.setProperty("kind", "danger")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(12, 8, 12, 8)
        self.column.setSpacing(6)
        head = QHBoxLayout()
        sign = QLabel()
        sign.setPixmap(theme.pixmap("warning", theme.DANGER, 20))
        head.addWidget(sign)
        self.title = label("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        head.addWidget(self.title, 1)
        self.column.addLayout(head)
        self.rows: list[QWidget] = []
        self.hide()

    def set_problems(self, problems: list[PluginProblem]) -> None:
        for row in self.rows:
            self.column.removeWidget(row)
            row.deleteLater()
        self.rows = [self._row(problem) for problem in problems]
        for row in self.rows:
            self.column.addWidget(row)
        many = len(problems) != 1
        self.title.setText(f"<b>{len(problems)} plugin problem{'s' if many else ''}.</b> "
                           "Everything else works; fix or remove the plugin"
                           f"{'s' if many else ''} named and restart TempClock.")
        self.setVisible(bool(problems))

    @property
    def texts(self) -> list[str]:
        """Each problem as shown (tests read them)."""
        return [row.findChild(QLabel, "ProblemText").text() for row in self.rows]

    def _row(self, problem: PluginProblem) -> QWidget:
        row = QWidget()
        column = QVBoxLayout(row)
        column.setContentsMargins(28, 0, 0, 0)
        column.setSpacing(4)
        line = QHBoxLayout()
        what = STAGE_TEXT.get(problem.stage, f"failed in its {problem.stage} hook")
        seen = (f" ({problem.count} times, last {problem.last_seen:%Y-%m-%d %H:%M} UTC)"
                if problem.last_seen is not None else "")
        text = label(f"<b>{plain_html(problem.plugin)}</b> {html.escape(what)}: "
                     f"{plain_html(problem.message)}{seen}", wrap=True)
        text.setObjectName("ProblemText")
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        line.addWidget(text, 1)
        column.addLayout(line)
        if problem.details:
            details = QPlainTextEdit(printable(problem.details, keep_newlines=True))
            details.setObjectName("Details")
            details.setReadOnly(True)
            details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            details.setMinimumHeight(140)
            details.hide()
            toggle = button("Show details")
            toggle.setObjectName("DetailsToggle")
            toggle.setCheckable(True)
            toggle.toggled.connect(details.setVisible)
            toggle.toggled.connect(lambda on: toggle.setText("Hide details" if on
                                                             else "Show details"))
            line.addWidget(toggle, 0, Qt.AlignmentFlag.AlignTop)
            column.addWidget(details)
        return row


class ConnectorsPanel(Panel):
    title = "Connectors"
    subtitle = ("Plugins that move data between TempClock and your ATS, CRM and payroll. "
                "Switches and settings are kept per account.")
    icon_name = "connectors"
    depends_on = (kinds.CONNECTORS,)

    deliveries_requested = Signal(str)  # a connector id: show what it sent
    run_finished = Signal(object)  # the ConnectorRun

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.current: InstalledConnector | None = None
        self._wanted: str | None = None  # asked for before the list had loaded
        self.form: ConnectorSettingsForm | None = None
        self._cancel: threading.Event | None = None  # set while a run is under way
        self._running_name = ""
        self._found_problems: list[PluginProblem] = []

        self.problems = PluginProblems()
        self.content.addWidget(self.problems)

        self.table = RecordTable(
            "connectors", session,
            [
                Column("Connector", lambda c: c.connector.name),
                Column("Kind", lambda c: KIND_TEXT.get(c.connector.kind, c.connector.kind)),
                Column("Version", lambda c: c.connector.version),
                Column("Source", lambda c: source_text(c.loaded),
                       tooltip=lambda c: source_detail(c.loaded)),
                Column("What it does", lambda c: ", ".join(
                    CAPABILITY_TEXT.get(cap, cap) for cap in sorted(c.connector.capabilities)),
                    stretch=True),
                Column("This account", lambda c: "Always on" if isinstance(
                    c.connector, HookPluginSettings) else "Enabled" if c.config.enabled
                    else "Off"),
            ],
            sorting=NONE,
            page_size=None,  # one page: every installed connector
            parent=self,
        )
        self.model = self.table.records
        self.table.setMinimumHeight(124)  # the header and three rows
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.model.reloaded.connect(self._loaded)

        details = panes(Qt.Orientation.Horizontal, self._settings_card(), self._runs_card(),
                        stretch=(1, 1), sizes=(560, 560))
        splitter = panes(Qt.Orientation.Vertical, self.table, details,
                         stretch=(1, 4), sizes=(130, 600))
        self.content.addWidget(splitter, 1)
        self.details = details
        self._show(None)

    # --- building -----------------------------------------------------------------

    def _settings_card(self) -> QWidget:
        card = Card()
        head = QHBoxLayout()
        self.name_label = label("", "SectionTitle")
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        head.addWidget(self.name_label, 1)
        self.enabled = QCheckBox("Enabled for this account")
        self.enabled.setObjectName("Switch")
        self.enabled.clicked.connect(self._switch)
        head.addWidget(self.enabled)
        card.body.addLayout(head)
        self.about_label = label("", "Muted", wrap=True)
        self.about_label.setTextFormat(Qt.TextFormat.PlainText)
        card.body.addWidget(self.about_label)
        self.meta_label = label("", "Muted", wrap=True)
        self.meta_label.setTextFormat(Qt.TextFormat.PlainText)
        card.body.addWidget(self.meta_label)
        card.body.addWidget(hline())
        self.form_area = QScrollArea()
        self.form_area.setWidgetResizable(True)
        self.form_area.setFrameShape(QFrame.Shape.NoFrame)
        self.form_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        card.body.addWidget(self.form_area, 1)
        row = QHBoxLayout()
        self.saved_label = label("", "Muted")
        row.addWidget(self.saved_label, 1)
        self.save_button = button("Save settings", "check", on_click=self.save_settings)
        row.addWidget(self.save_button)
        card.body.addLayout(row)
        card.setMinimumWidth(440)
        return card

    def _runs_card(self) -> QWidget:
        card = Card()
        self.run_pages = QStackedWidget()
        card.body.addWidget(self.run_pages, 1)

        runs = QWidget()
        column = QVBoxLayout(runs)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(8)
        head = QHBoxLayout()
        head.addWidget(label("Runs", "SectionTitle"), 1)
        self.exports_button = button("Open exports folder", "folder",
                                     on_click=self.open_exports)
        self.dry_run_button = button("Dry run", "preview", on_click=lambda: self.start_run(True),
                                     tip="Read everything and report what would change, "
                                         "writing nothing")
        self.run_button = button("Run", "play", role="primary",
                                 on_click=lambda: self.start_run(False))
        for widget in (self.exports_button, self.dry_run_button, self.run_button):
            head.addWidget(widget)
        column.addLayout(head)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        progress_row.addWidget(self.progress, 1)
        self.cancel_button = button("Cancel", "stop", role="danger", on_click=self.cancel_run)
        progress_row.addWidget(self.cancel_button)
        column.addLayout(progress_row)
        self.run_status = label("", "Muted", wrap=True)
        self.run_status.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.run_status)
        self.attention_banner = Banner("warning")
        column.addWidget(self.attention_banner)

        self.history_table = RecordTable(
            "connector_runs", self.session,
            [
                Column("Started", lambda r: when(r.started_at)),
                Column("Type", lambda r: "Dry run" if r.dry_run else "Run"),
                Column("Status", status_text,
                       tooltip=lambda r: printable(r.message or attention_summary(r))),
                Column("Counts", lambda r: counts_text(r.counts),
                       tooltip=lambda r: counts_text(r.counts)),
            ],
            sorting=NONE,  # newest first
            page_size=None,  # the service returns the latest 50
            muted=lambda r: r.dry_run,
            parent=self,
        )
        self.history = self.history_table.records
        self.history_table.selectionModel().selectionChanged.connect(
            lambda *_: self._run_selected())
        self.history.reloaded.connect(self._history_loaded)
        self.run_detail = QTextBrowser()
        self.run_detail.setPlaceholderText("Select a run for its counts, bad rows and log.")
        history = QSplitter(Qt.Orientation.Vertical)
        history.setChildrenCollapsible(False)
        history.addWidget(self.history_table)
        history.addWidget(self.run_detail)
        history.setSizes([160, 220])
        column.addWidget(history, 1)
        self.run_pages.addWidget(runs)

        by_events = QWidget()
        column = QVBoxLayout(by_events)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(label("Runs by itself", "SectionTitle"))
        self.events_text = label("", "Muted", wrap=True)
        self.events_text.setTextFormat(Qt.TextFormat.PlainText)
        column.addWidget(self.events_text)
        row = QHBoxLayout()
        self.deliveries_button = button("Show what it sent", "webhooks",
                                        on_click=self._request_deliveries)
        row.addWidget(self.deliveries_button)
        row.addStretch(1)
        column.addLayout(row)
        column.addStretch(1)
        self.run_pages.addWidget(by_events)
        self.runs_page, self.events_page = runs, by_events
        card.setMinimumWidth(420)
        return card

    # --- loading and choosing a connector -------------------------------------------

    def reload(self) -> None:
        account_id, session = self.session.account_id, self.session

        def fetch(cursor: object) -> list[InstalledConnector]:
            if cursor is not None:
                return []
            host = session.plugin_host()
            # Loading problems and the ones the plugin process stored (on this background thread).
            self._found_problems = plugin_problems.all_problems(host)
            return installed_connectors(host, account_id)

        self.model.set_fetch(fetch)

    def _loaded(self) -> None:
        self.problems.set_problems(self._found_problems)
        wanted = self._wanted or (self.current.id if self.current is not None else None)
        self._wanted = None
        row = self.model.row_of(wanted) if wanted is not None else None
        if self.model.rowCount():
            self.table.selectRow(row or 0)
        else:
            self._show(None)

    def select_connector(self, connector_id: str) -> None:
        """Show the connector with this id (tests, links from elsewhere), once it is listed."""
        row = self.model.row_of(connector_id)
        if row is not None:
            self.table.selectRow(row)
        else:
            self._wanted = connector_id

    def _selection(self) -> None:
        self._show(self.table.selected_record())

    def _show(self, installed: InstalledConnector | None) -> None:
        self.current = installed
        self.details.setEnabled(installed is not None)
        old = self.form_area.takeWidget()
        if old is not None:
            old.deleteLater()
        self.form = None
        if installed is None:
            self.name_label.setText("No connector chosen")
            for widget in (self.about_label, self.meta_label, self.saved_label):
                widget.setText("")
            self.history.set_fetch(lambda _cursor: [])
            self._update_run_controls()
            return
        connector = installed.connector
        self.name_label.setText(connector.name)
        self.about_label.setText(connector.description)
        loaded = installed.loaded
        self.meta_label.setText(" · ".join(
            [KIND_TEXT.get(connector.kind, connector.kind), f"version {connector.version}",
             source_text(loaded)]))
        self.meta_label.setToolTip(source_detail(loaded))
        self.enabled.setChecked(installed.config.enabled)
        self.enabled.setVisible(not isinstance(connector, HookPluginSettings))
        self.form = ConnectorSettingsForm(connector, installed.config.settings)
        unsaved = "Unsaved changes" + (": Run uses them; Save keeps them." if installed.runnable
                                       else ".")
        self.form.changed.connect(lambda: self.saved_label.setText(unsaved))
        self.form_area.setWidget(self.form)
        self._show_saved(installed.config)
        if installed.runnable:
            self.run_pages.setCurrentWidget(self.runs_page)
            account_id = self.session.account_id
            self.history.set_fetch(lambda cursor: connectors.list_runs(account_id, connector.id)
                                   if cursor is None else [])
        elif isinstance(connector, HookPluginSettings):
            self.run_pages.setCurrentWidget(self.events_page)
            self.events_text.setText(
                f"{connector.name} is not run by hand: it reacts to what happens in every "
                "account as it happens. The settings here are this account's.")
            self.history.set_fetch(lambda _cursor: [])
        else:
            self.run_pages.setCurrentWidget(self.events_page)
            wanted = installed.config.settings.get("events") or connector.events
            self.events_text.setText(
                f"{connector.name} is not run by hand: while it is enabled, each "
                f"{', '.join(choice_text(e).lower() for e in wanted) or 'event'} of this "
                "account is passed to it as it happens "
                "and what it sends is delivered like a webhook, with retries.")
            self.history.set_fetch(lambda _cursor: [])
        self.exports_button.setVisible("export_timesheets" in connector.capabilities)
        self._update_run_controls()

    def _show_saved(self, config: ConnectorConfig) -> None:
        self.saved_label.setText(f"Saved {when(config.updated_at)}" if config.updated_at
                                 else "Not saved yet: the defaults are shown.")

    # --- switch and settings -----------------------------------------------------------

    def _switch(self, on: bool) -> None:
        installed = self.current
        if installed is None or self.form is None:
            return
        account_id, connector, form = self.session.account_id, installed.connector, self.form
        self.enabled.setEnabled(False)

        def done(config: ConnectorConfig) -> None:
            self.enabled.setEnabled(True)
            self._config_changed(installed, config)

        def failed(error: BaseException) -> None:
            self.enabled.setEnabled(True)
            self.enabled.setChecked(installed.config.enabled)
            form.show_refusal(error)

        Operation(self, lambda: connectors.set_enabled(account_id, connector, on),
                  success=done, failure=failed).run()

    def save_settings(self) -> None:
        """Check and keep the values on screen for this account."""
        installed, form = self.current, self.form
        if installed is None or form is None:
            return
        account_id, connector, values = self.session.account_id, installed.connector, form.values
        self.save_button.setEnabled(False)

        def done(config: ConnectorConfig) -> None:
            self.save_button.setEnabled(True)
            form.load(config.settings)
            self._config_changed(installed, config)

        def failed(error: BaseException) -> None:
            self.save_button.setEnabled(True)
            form.show_refusal(error)

        Operation(self, lambda: connectors.save_settings(account_id, connector, values),
                  success=done, failure=failed).run()

    def _config_changed(self, installed: InstalledConnector, config: ConnectorConfig) -> None:
        changed = InstalledConnector(installed.loaded, config)
        self.model.upsert(changed)
        if self.current is not None and self.current.id == changed.id:
            self.current = changed
            self._show_saved(config)
        self.session.notify(kinds.CONNECTORS, self)

    # --- runs ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def _update_run_controls(self) -> None:
        runnable = self.current is not None and self.current.runnable
        for widget in (self.run_button, self.dry_run_button):
            widget.setEnabled(runnable and not self.running)
        self.cancel_button.setVisible(self.running)
        self.progress.setVisible(self.running)

    def start_run(self, dry_run: bool) -> None:
        """Run (or dry-run) the chosen connector with the settings on screen."""
        installed, form = self.current, self.form
        if installed is None or form is None or self.running or not installed.runnable:
            return
        account_id, connector = self.session.account_id, installed.connector
        overrides, exports = form.values, self.session.exports_dir
        cancel = threading.Event()
        self._cancel = cancel
        self._running_name = f"{connector.name}: {'dry run' if dry_run else 'run'}"
        form.clear_errors()
        self.progress.setRange(0, 0)
        self.run_status.setText(f"{self._running_name} starting…")
        self._update_run_controls()
        self.cancel_button.setEnabled(True)

        def work(report: Callable[[int, int, str], None]) -> ConnectorRun:
            exports.mkdir(parents=True, exist_ok=True)
            return connectors.run_connector(account_id, connector, overrides=overrides,
                                            dry_run=dry_run, export_dir=exports,
                                            on_progress=throttled(report), cancel=cancel)

        def failed(error: BaseException) -> None:  # refused before it started
            self._run_over()
            self.run_status.setText("")
            form.show_refusal(error)

        Operation(self, work, success=lambda run: self._run_done(account_id, installed, run),
                  failure=failed, progress=self._run_progress, cancel=cancel).run()

    def _run_progress(self, done: int, total: int, message: str) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
            where = f"{done:,} of {total:,}"
        else:
            self.progress.setRange(0, 0)  # busy: how much is left is unknown
            where = f"{done:,} done"
        if self._cancel is not None and self._cancel.is_set():
            return
        self.run_status.setText(f"{self._running_name}: {where}"
                                + (f" · {message}" if message else ""))

    def cancel_run(self) -> None:
        """Ask the running connector to stop at its next check."""
        if self._cancel is not None:
            self._cancel.set()
            self.cancel_button.setEnabled(False)
            self.run_status.setText(f"{self._running_name}: cancelling…")

    def _run_over(self) -> None:
        self._cancel = None
        self._update_run_controls()

    def _run_done(self, account_id: int, installed: InstalledConnector,
                  run: ConnectorRun) -> None:
        self._run_over()
        kind = "Dry run" if run.dry_run else "Run"
        text = f"{installed.connector.name}: {kind} {run.status} at {clock(run.finished_at)}"
        text += f" · {counts_text(run.counts)}"
        if run.needs_attention:
            text += f" · {attention_summary(run)}: see below"
        if "export_timesheets" in installed.connector.capabilities and run.status == "succeeded":
            text += f" · files in {self.session.exports_dir}"
        self.run_status.setText(text)
        if not run.dry_run and "import_workers" in installed.connector.capabilities:
            self.session.notify(kinds.WORKERS)
            self.session.notify(kinds.DEPARTMENTS)
        shown = self.session.account_id == account_id and self.current is not None
        if shown and self.current.id == installed.id:  # the admin may have moved on
            self.history.prepend([run])
            self.history_table.selectRow(0)
        self.run_finished.emit(run)

    def _history_loaded(self) -> None:
        if self.history.rowCount():
            self.history_table.selectRow(0)
        else:
            self.run_detail.clear()
            self.run_detail.setPlaceholderText(NO_RUNS)
            self.attention_banner.hide()

    def _run_selected(self) -> None:
        run = self.history_table.selected_record()
        if run is not None and self.current is not None:
            self.run_detail.setPlaceholderText("Select a run for its counts, bad rows and log.")
            self.run_detail.setHtml(run_detail_html(run, self.current.connector.name))
            self._show_attention(run)

    def _show_attention(self, run: ConnectorRun) -> None:
        if not run.needs_attention:
            self.attention_banner.hide()
            return
        kind = "dry run" if run.dry_run else "run"
        self.attention_banner.show_message(
            f"<b>This {kind} is not the whole story: {html.escape(attention_summary(run))}."
            "</b> Check the list in the run details below before you use what it produced.")

    def open_exports(self) -> None:
        """Open the folder connector exports are written to."""
        folder: Path = self.session.exports_dir
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def _request_deliveries(self) -> None:
        if self.current is not None:
            self.deliveries_requested.emit(self.current.id)
