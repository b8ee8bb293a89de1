"""API logs: every request that presented a key, live, filterable, exportable; a chart of the
last 24 hours; and an alert when a key (or an unknown key) is refused again and again.

What clients sent (paths, queries, user agents) is shown with control characters
escaped (`printable`), and refusals for being over a limit as one row per client,
key and minute with their count."""

from __future__ import annotations

import datetime as dt
import html
import threading
from collections.abc import Iterator
from pathlib import Path

import msgspec
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QProgressDialog,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
)

from tempclock.api.services import keys, log_alerts, log_stats
from tempclock.api.services.api_logs import ApiLog
from tempclock.api.services.display import printable
from tempclock.api.services.names import scope_name
from tempclock.plugins import Cancelled, write_csv
from tempclock_desktop import session as kinds
from tempclock_desktop.chart import KeyErrorsChart, RequestChart
from tempclock_desktop.first_run import first_request_curl
from tempclock_desktop.formatting import duration_ms, when_precise
from tempclock_desktop.messages import show_error, show_notice
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.server import url_for
from tempclock_desktop.tables import SERVER, RecordTable
from tempclock_desktop.widgets import (
    Banner,
    Card,
    EmptyState,
    SearchField,
    button,
    fill_combo,
    label,
    panes,
)

LIVE_MS = 1000  # how often new requests are looked for
STATS_MS = 30_000
UNATTRIBUTED = "unattributed"
UNATTRIBUTED_TEXT = "Unattributed"
RANGES = (("Last hour", 1), ("Last 24 hours", 24), ("Last 7 days", 24 * 7),
          ("Last 30 days", 24 * 30), ("All time", None))
STATUSES = (("All answers", None), ("Succeeded", 2), ("Redirected", 3),
            ("Refused or invalid", 4), ("Failed on this computer", 5))  # 2xx to 5xx
CSV_COLUMNS = ("time", "account_id", "key_id", "key_name", "key_prefix", "method", "path",
               "query", "status", "duration_ms", "client", "user_agent", "request_id",
               "error_code", "count")


REFUSALS = {
    "key_unknown": "Unknown key",
    "key_malformed": "Malformed key",
    "key_checksum_invalid": "Mistyped key",
    "key_revoked": "Revoked key",
    "key_expired": "Expired key",
    "api_disabled": "Key of an account with API access off",
    "key_missing": "No key",
    "auth_scheme_unsupported": "No key (another scheme)",
    "auth_header_repeated": "Two keys in one request",
    "rate_limited": "Refused: too many failed attempts",
}


def key_text(source: ApiLog | log_stats.KeyTraffic) -> str:
    """A key as the admin knows it, the same in the list, the details and the chart: name
    and prefix, or "Unattributed" (no key of this account) with why, where known."""
    if source.key_id is None:
        why = REFUSALS.get(getattr(source, "error_code", None) or "")
        return f"{UNATTRIBUTED_TEXT} · {why}" if why else UNATTRIBUTED_TEXT
    return printable(f"{source.key_name} · {source.key_prefix}…")


def _csv_rows(account_id: int, filters: log_stats.LogFilter, report,
              cancelled: threading.Event) -> Iterator[list]:
    """The requests matching the filters as CSV rows, newest first, a page at a time.

    Raises `Cancelled` once the admin cancels, so no partial file is left behind.
    """
    written = 0
    cursor = None
    while True:
        if cancelled.is_set():
            raise Cancelled("export cancelled")
        page = log_stats.browse_logs(account_id, filters, before=cursor, limit=1000)
        for log in page:
            yield [log.created_at.isoformat().replace("+00:00", "Z"), log.account_id,
                   log.key_id, log.key_name, log.key_prefix, log.method, log.path,
                   log.query, log.status, f"{log.duration_ms:.1f}", log.client,
                   log.user_agent, log.request_id, log.error_code, log.count]
        written += len(page)
        report(written, 0, "")
        if len(page) < 1000:
            return
        cursor = (page[-1].created_at, page[-1].id)


def export_csv(path: Path, account_id: int, filters: log_stats.LogFilter,
               report, cancelled: threading.Event) -> int:
    """Write every request matching the filters to a spreadsheet-safe CSV file (on the pool).

    Returns the number of requests written; a cancelled export writes no file.
    """
    try:
        return write_csv(path, CSV_COLUMNS, _csv_rows(account_id, filters, report, cancelled))
    except Cancelled:
        return 0


def _same(one: log_alerts.Alert, other: log_alerts.Alert) -> bool:
    """Whether two alerts (of two refreshes) are about the same thing."""
    return ((one.kind, one.key_id, one.scope, one.client)
            == (other.kind, other.key_id, other.scope, other.client))


class Stats(msgspec.Struct):
    since: dt.datetime
    per_minute: list[log_stats.MinuteCount]
    per_key: list[log_stats.KeyTraffic]
    alerts: list[log_alerts.Alert]


def load_stats(account_id: int) -> Stats:
    # The routes' scopes come from the HTTP app: imported here, in the background, so the
    # window's first paint never waits for the web framework to load.
    from tempclock.api.http.app import scope_needed

    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=24)).replace(second=0, microsecond=0)
    return Stats(since,
                 log_stats.requests_per_minute(account_id, since),
                 log_stats.traffic_by_key(account_id, since),
                 log_alerts.log_alerts(account_id, scope_of=scope_needed))


class ApiLogsPanel(Panel):
    title = "API logs"
    subtitle = "Every request that presented a key, valid or not. New requests appear live."
    icon_name = "api_logs"
    depends_on = (kinds.KEYS,)

    revoke_requested = Signal(int, str, str)  # key id, name, prefix
    replace_requested = Signal(int)  # key id: issue a key like it

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.export_button = button("Export CSV…", "export", on_click=self.export)
        self.revoke_button = button("Revoke this key…", "deactivate", role="danger",
                                    on_click=self._revoke_selected)
        self.header_actions.addWidget(self.export_button)
        self.header_actions.addWidget(self.revoke_button)
        self.content.addWidget(self._alert_banner())
        self.content.addWidget(self._charts_card())
        self.content.addLayout(self._filter_bar())
        self.content.addWidget(self._requests_view(), 1)
        self._start_timers()
        self._selection()

    def _alert_banner(self) -> Banner:
        self.banner = Banner("danger")
        self.banner_action = button("", on_click=self._act_on_alert)
        self.banner_show = button("Show these requests", on_click=self._show_alert_requests)
        self.banner_next = button("Next alert", on_click=self._next_alert)
        for widget in (self.banner_action, self.banner_show, self.banner_next):
            self.banner.actions.addWidget(widget)
        self.alert: log_alerts.Alert | None = None
        self.alerts: list[log_alerts.Alert] = []
        self._stepped = False  # the admin moved on with Next: refreshes keep their place
        return self.banner

    def _charts_card(self) -> Card:
        stats = Card(margins=12)
        row = QHBoxLayout()
        chart_column = QVBoxLayout()
        self.chart_title = label("Requests per minute, last 24 hours", "SectionTitle")
        chart_column.addWidget(self.chart_title)
        self.chart = RequestChart()
        chart_column.addWidget(self.chart)
        row.addLayout(chart_column, 3)
        key_column = QVBoxLayout()
        key_column.addWidget(label("Errors per key, last 24 hours", "SectionTitle"))
        self.per_key = KeyErrorsChart()
        key_column.addWidget(self.per_key, 1)
        row.addLayout(key_column, 2)
        stats.body.addLayout(row)
        return stats

    def _filter_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.key_filter = QComboBox()
        self.key_filter.setMinimumWidth(220)
        self.status_filter = QComboBox()
        fill_combo(self.status_filter, STATUSES)
        self.auth_only = QCheckBox("Only refused requests")
        self.auth_only.setToolTip("Requests answered 401 (no valid key) or 403 (not allowed)")
        self.path_filter = SearchField("Path contains")
        self.path_filter.setMinimumWidth(180)
        self.range_filter = QComboBox()
        fill_combo(self.range_filter, RANGES)
        self.range_filter.setCurrentIndex(1)
        self.live = QCheckBox("Live")
        self.live.setChecked(True)
        for combo in (self.key_filter, self.status_filter, self.range_filter):
            combo.activated.connect(lambda _i: self.apply_filters())
        self.auth_only.toggled.connect(lambda _on: self.apply_filters())
        self.path_filter.search_changed.connect(lambda _t: self.apply_filters())
        for widget in (self.key_filter, self.status_filter, self.auth_only, self.path_filter,
                       self.range_filter, self.live):
            bar.addWidget(widget)
        bar.addStretch(1)
        self.count_label = label("", "Muted")
        bar.addWidget(self.count_label)
        return bar

    def _requests_view(self) -> QStackedWidget:
        self.table = RecordTable(
            "api_logs", self.session,
            [
                Column("Time", lambda r: when_precise(r.created_at), server_sort="time"),
                Column("Key", key_text),
                Column("Status", lambda r: str(r.status), server_sort="status"),
                Column("Client", lambda r: r.client),
                Column("Path", lambda r: printable(r.path + (f"?{r.query}" if r.query else "")),
                       max_width=340, stretch=True),
                Column("Duration", lambda r: duration_ms(r.duration_ms), align_right=True,
                       server_sort="duration"),
                Column("Method", lambda r: printable(r.method), secondary=True),  # mostly GET
                Column("Count", lambda r: f"×{r.count:,}" if r.count > 1 else "", align_right=True,
                       tooltip=lambda r: f"{r.count:,} requests in this minute, refused alike"
                       if r.count > 1 else "", server_sort="count"),
                Column("Request id", lambda r: r.request_id, secondary=True),
            ],
            sorting=SERVER,  # over every matching request, in the store: never one page
            cursor_of=lambda r: r,  # the page function knows the order it continues in
            muted=lambda r: False,
            parent=self,
        )
        self.model = self.table.records
        self.order = log_stats.NEWEST_FIRST
        self.table.set_server_order(0, Qt.SortOrder.DescendingOrder)
        self.table.sort_requested.connect(self._sort_by)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.detail = QTextBrowser()
        self.detail.setMinimumWidth(210)  # the table keeps its columns on screen at 1440 px
        self.detail.setPlaceholderText("Select a request.")
        splitter = panes(Qt.Orientation.Horizontal, self.table, self.detail,
                         stretch=(3, 1), sizes=(1000, 210), collapsible=True)
        self.stack = QStackedWidget()
        self.stack.addWidget(splitter)
        self.stack.addWidget(self._empty_state())
        self.model.page_loaded.connect(lambda _n: self._count())
        self.model.reloaded.connect(self._count)
        self.model.reloaded.connect(self._show_empty)
        self.model.reloaded.connect(self._first_page_shown)
        self.model.load_failed.connect(lambda _message: self._first_page_shown())
        self.model.rowsInserted.connect(lambda *_: self._show_empty())
        return self.stack

    def _start_timers(self) -> None:
        self._seen = {"id": 0}  # the newest log id when the list was loaded
        self._polling = False
        self._stats_loading = False
        self._live = QTimer(self)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self.poll)
        self._live.start()
        self._stats = QTimer(self)
        self._stats.setInterval(STATS_MS)
        self._stats.timeout.connect(self.refresh_stats)
        self._stats.start()

    def _empty_state(self) -> EmptyState:
        """No request yet: what an integration's first request looks like, on this PC."""
        settings = self.session.settings
        base = f"{url_for(settings.host, settings.port, bool(settings.tls_files[0]))}/api/v1/"
        self.empty = EmptyState(
            "api_logs", "No requests yet",
            "Every request your integrations make to the API is listed here, with "
            "TempClock's answer. The getting-started guide sends a first one for you.")
        # The command is for whoever sets up the integration: one click away, not in the text.
        self.first_curl = label(first_request_curl(base, None), "KeyText")
        self.first_curl.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.first_curl.hide()
        self.empty.add_detail(self.first_curl)
        self.empty.add_button(button("Try it in the getting-started guide", "play",
                                     role="primary",
                                     on_click=lambda: self.open_requested.emit("guide/request")))
        self.example_button = self.empty.add_button(button(
            "Show an example request", on_click=self._toggle_example))
        self.example_button.setCheckable(True)
        return self.empty

    def _toggle_example(self) -> None:
        shown = self.example_button.isChecked()
        self.first_curl.setVisible(shown)
        self.example_button.setText("Hide the example" if shown else "Show an example request")

    def _show_empty(self) -> None:
        """The explanation shows only for an account whose list is empty without filters."""
        filters = self.filters
        unfiltered = filters == log_stats.LogFilter(since=filters.since)
        self.stack.setCurrentIndex(1 if self.model.rowCount() == 0 and unfiltered else 0)

    # --- filters and loading -----------------------------------------------------------

    @property
    def filters(self) -> log_stats.LogFilter:
        """The filters as set on screen (read on the GUI thread)."""
        chosen = self.key_filter.currentData()
        hours = self.range_filter.currentData()
        return log_stats.LogFilter(
            key_id=chosen if isinstance(chosen, int) else None,
            unattributed=True if chosen == UNATTRIBUTED else None,
            status_class=self.status_filter.currentData(),
            auth_failures=self.auth_only.isChecked(),
            path=self.path_filter.text().strip() or None,
            since=(dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)) if hours else None,
        )

    def reload(self) -> None:
        account_id = self.session.account_id
        Operation(self, lambda: keys.list_keys(account_id), success=self._keys_loaded).run()
        self.apply_filters()
        self._stats_after_page = True  # the list first: the charts' queries are the heavier

    def _first_page_shown(self) -> None:
        if self._stats_after_page:
            self._stats_after_page = False
            self.refresh_stats()

    def _keys_loaded(self, found: list[keys.ApiKey]) -> None:
        current = self.key_filter.currentData()
        items = [(f"{UNATTRIBUTED_TEXT} (unknown, revoked, expired keys)", UNATTRIBUTED)]
        items += [(f"{k.name} · {k.prefix}…" + ("" if k.status == "Active"
                                                 else f" ({k.status.lower()})"), k.id)
                  for k in found]
        fill_combo(self.key_filter, items, none="All keys")
        index = self.key_filter.findData(current)
        self.key_filter.setCurrentIndex(max(index, 0))

    def apply_filters(self) -> None:
        """Show the first page for the filters on screen; the GUI never waits for it."""
        account_id, filters = self.session.account_id, self.filters

        order = self.order

        def page(last: ApiLog | None):
            if last is None:  # where live updates start: nothing newer is missed
                seen["id"] = log_stats.newest_log_id()
            before = None if last is None else log_stats.cursor_of(last, order)
            return log_stats.browse_logs(account_id, filters, before=before, order=order)

        self._seen = seen = {"id": 0}  # a new dict: polls of the old filters land elsewhere
        self.model.set_fetch(page)
        self.detail.clear()

    def _sort_by(self, column: int, order: Qt.SortOrder) -> None:
        """List every matching request in another order (sorted by the store, not the page)."""
        by = self.model.columns[column].server_sort or "time"
        self.order = log_stats.LogOrder(by=by,
                                        descending=order == Qt.SortOrder.DescendingOrder)
        self.count_label.setText("Sorting…")
        self.apply_filters()

    @property
    def newest_first(self) -> bool:
        return self.order == log_stats.NEWEST_FIRST

    def _count(self) -> None:
        shown = self.model.rowCount()
        more = " (scroll for more)" if not self.model.exhausted else ""
        paused = "" if self.newest_first else " · live updates paused while sorted"
        self.count_label.setText(f"{shown} requests shown{more}{paused}")

    def poll(self) -> None:
        """Add requests logged since the newest one shown (when Live is on)."""
        if (not self.live.isChecked() or not self.newest_first  # new rows go on top only then
                or not self.isVisible() or self._polling
                or self.model.loading or not self.model.ever_loaded
                or self.session.account is None):
            return
        newest = max([self._seen["id"], *(r.id for r in self.model.records[:200])])
        account_id, filters, seen = self.session.account_id, self.filters, self._seen
        self._polling = True

        def arrived(found: list[ApiLog]) -> None:
            self._polling = False
            if seen is not self._seen:
                return  # the filters changed meanwhile
            known = {r.id for r in self.model.records[:1000]}
            fresh = [r for r in found if r.id not in known]
            if found:
                self._seen["id"] = max(self._seen["id"], *(r.id for r in found))
            self.model.prepend(fresh)
            if fresh:
                self._count()

        def failed(_error) -> None:
            self._polling = False

        Operation(self, lambda: log_stats.browse_logs(account_id, filters, newer_than_id=newest,
                                                      limit=1000),
                  success=arrived, failure=failed).run()

    def refresh_stats(self) -> None:
        if self._stats_loading or self.session.account is None or not self.isVisible():
            return
        self._stats_loading = True
        account_id = self.session.account_id

        def done(stats: Stats) -> None:
            self._stats_loading = False
            self.show_stats(stats)

        def failed(_error) -> None:
            self._stats_loading = False

        Operation(self, lambda: load_stats(account_id), success=done, failure=failed).run()

    def show_stats(self, stats: Stats) -> None:
        self.chart.set_counts(stats.per_minute, stats.since, 24 * 60 + 1)
        total = sum(c.requests for c in stats.per_minute)
        errors = sum(c.errors for c in stats.per_minute)
        self.chart_title.setText(f"Requests per minute, last 24 hours — {total} requests, "
                                 f"{errors} errors")
        self.per_key.set_rows([(key_text(traffic), traffic.requests, traffic.errors)
                               for traffic in stats.per_key])
        self.show_alerts(stats.alerts)

    def show_alerts(self, alerts: list[log_alerts.Alert]) -> None:
        """The banner for the most urgent alert (or, once the admin pressed Next, the one
        they are reading, while it lasts)."""
        shown = self.alert if self._stepped else None
        self.alerts = alerts
        same = [n for n, a in enumerate(alerts) if shown is not None and _same(a, shown)]
        self._stepped = bool(same)
        self._show_alert(same[0] if same else 0)

    def _show_alert(self, index: int) -> None:
        self.alert = alert = self.alerts[index] if index < len(self.alerts) else None
        if alert is None:
            self.banner.hide()
            return
        text = (f"<b>{html.escape(printable(alert.headline))}</b> "
                f"{html.escape(printable(alert.detail))}")
        if len(self.alerts) > 1:
            text += f" <i>(alert {index + 1} of {len(self.alerts)})</i>"
        self.banner.set_kind("danger" if alert.compromise else "warning")
        self.banner_action.setText(alert.action_label)
        self.banner_action.setVisible(alert.action != log_alerts.SHOW_REQUESTS)
        self.banner_next.setVisible(len(self.alerts) > 1)
        self.banner.show_message(text)

    def _next_alert(self) -> None:
        if self.alert is not None and self.alerts:
            self._stepped = True
            self._show_alert((self.alerts.index(self.alert) + 1) % len(self.alerts))

    def _show_alert_requests(self) -> None:
        alert = self.alert
        if alert is None:
            return
        index = self.key_filter.findData(UNATTRIBUTED if alert.key_id is None else alert.key_id)
        self.key_filter.setCurrentIndex(max(index, 0))
        self.auth_only.setChecked(not alert.compromise or alert.kind == "guessing")
        self.apply_filters()

    def _act_on_alert(self) -> None:
        alert = self.alert
        if alert is None or alert.key_id is None:
            return
        if alert.action == log_alerts.GRANT_SCOPE and alert.scope is not None:
            self._grant(alert.key_id, alert.scope)
        elif alert.action == log_alerts.REPLACE_KEY:
            self.replace_requested.emit(alert.key_id)
        elif alert.action == log_alerts.REVOKE_KEY:
            self.revoke_requested.emit(alert.key_id, alert.key_name or "",
                                       alert.key_prefix or "")

    def _grant(self, key_id: int, scope: str) -> None:
        account_id = self.session.account_id

        def done(key: keys.ApiKey) -> None:
            self.session.notify(kinds.KEYS, self)
            self.show_alerts([a for a in self.alerts
                              if (a.key_id, a.scope) != (key_id, scope)])
            self.refresh_stats()
            show_notice(self, "Permission granted",
                        f"“{key.name}” may now {scope_name(scope).lower()}. The integration's "
                        "next request is let through.")

        Operation(self, lambda: keys.add_scope(key_id, scope, account_id), success=done,
                  failure=lambda error: show_error(self, error, "The permission was not granted")
                  ).run()

    # --- selection ----------------------------------------------------------------------

    def selected(self) -> ApiLog | None:
        return self.table.selected_record()

    def _selection(self) -> None:
        log = self.selected()
        self.revoke_button.setEnabled(log is not None and log.key_id is not None)
        self.revoke_button.setToolTip("" if log is None or log.key_id is not None else
                                      "This request's key matched no active key of yours.")
        if log is not None:
            self._show_detail(log)

    def _show_detail(self, log: ApiLog) -> None:
        esc = html.escape
        rows = [
            ("Time", when_precise(log.created_at)),
            ("Key", key_text(log)),
            ("Request", f"{log.method} {log.path}"),
            ("Query", log.query or "—"),
            ("Status", str(log.status) + (f" ({log.error_code})" if log.error_code else "")),
            ("Duration", duration_ms(log.duration_ms)),
            ("Client", log.client or "—"),
            ("User agent", log.user_agent or "—"),
            ("Requests", f"{log.count:,} (refused alike within this minute)"
             if log.count > 1 else "1"),
            ("Request id", log.request_id),
        ]
        cells = "".join(f"<tr><td style='color:#64748b; padding:2px 10px 2px 0'>{esc(k)}</td>"
                        f"<td style='padding:2px 0'>{esc(printable(v))}</td></tr>"
                        for k, v in rows)
        self.detail.setHtml(f"<b>Request {log.id}</b><table>{cells}</table>")

    def _revoke_selected(self) -> None:
        log = self.selected()
        if log is not None and log.key_id is not None:
            self.revoke_requested.emit(log.key_id, log.key_name or "", log.key_prefix or "")

    # --- export ---------------------------------------------------------------------------

    def export(self, path: str | None = None) -> None:
        """Write every request matching the filters (not only the loaded ones) to a CSV file."""
        if path is None:
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M")
            path, _kind = QFileDialog.getSaveFileName(
                self, "Export API logs", str(Path.home() / f"tempclock-api-logs-{stamp}.csv"),
                "CSV files (*.csv)")
            if not path:
                return
        account_id, filters = self.session.account_id, self.filters
        cancelled = threading.Event()
        progress = QProgressDialog("Exporting API logs…", "Cancel", 0, 0, self)
        progress.setWindowTitle("Export API logs")
        progress.setMinimumDuration(400)
        progress.canceled.connect(lambda: cancelled.set())
        target = Path(path)

        def done(count: int) -> None:
            stopped = cancelled.is_set()
            progress.canceled.disconnect()  # closing the dialog would read as "Cancel"
            progress.close()
            if not stopped:
                self.exported.emit(str(target), count)
                show_notice(self, "Export finished", f"{count} requests written to {target}.")

        def failed(error) -> None:
            progress.close()
            show_error(self, error, "The logs were not exported")

        Operation(self, lambda report: export_csv(target, account_id, filters, report, cancelled),
                  success=done, failure=failed,
                  progress=lambda n, _t, _w: progress.setLabelText(
                      f"Exporting API logs… {n} requests written")).run()

    exported = Signal(str, int)  # path, rows written

