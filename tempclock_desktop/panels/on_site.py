"""On site now: a live board, one card per site, of who is clocked in."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QStackedWidget,
    QWidget,
)

from tempclock.api.services import timesheets
from tempclock_desktop import session as kinds
from tempclock_desktop import theme
from tempclock_desktop.formatting import clock, since
from tempclock_desktop.lateness_alerts import ExpectedNow, expected_now
from tempclock_desktop.messages import describe
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel, load_demo_data
from tempclock_desktop.widgets import Card, EmptyState, button, label

REFRESH_MS = 15_000
MAX_NAMES = 12  # per card; the rest are counted


class SiteCard(Card):
    """One site: how full it is and who is there since when."""

    def __init__(self, site: timesheets.Site, now: dt.datetime,
                 expected: ExpectedNow | None = None) -> None:
        super().__init__()
        self.site = site
        self.expected_lines: list[str] = []  # late and missed shifts, in words
        self.refused_lines: list[str] = []  # kiosk punches refused, in words
        self.setMinimumWidth(300)
        head = QHBoxLayout()
        name = label(site.name, "SectionTitle", wrap=True)
        head.addWidget(name, 1)
        capacity = f" / {site.capacity}" if site.capacity else ""
        count = label(f"{site.on_site}{capacity}", "Metric")
        head.addWidget(count, 0, Qt.AlignmentFlag.AlignTop)
        self.body.addLayout(head)
        bar = QProgressBar()
        bar.setTextVisible(False)
        bar.setMaximum(max(site.capacity or site.on_site or 1, 1))
        bar.setValue(min(site.on_site, bar.maximum()))
        bar.setProperty("full", bool(site.capacity and site.on_site >= site.capacity))
        bar.setFixedHeight(8)
        self.body.addWidget(bar)
        if not site.workers:
            self.body.addWidget(label("Nobody clocked in", "Muted"))
        for worker in site.workers[:MAX_NAMES]:
            row = QHBoxLayout()
            row.setSpacing(6)
            who = label(worker.name)
            row.addWidget(who, 1)
            if worker.within_geofence is False:
                flag = QLabel()
                flag.setPixmap(theme.pixmap("warning", "#b45309", 14))
                flag.setToolTip(f"Clocked in {worker.distance_meters:.0f} m from the site, "
                                "outside its geofence")
                row.addWidget(flag)
            row.addWidget(label(f"since {clock(worker.clock_in)} · {since(worker.clock_in, now)}",
                                "Muted"))
            self.body.addLayout(row)
        if len(site.workers) > MAX_NAMES:
            self.body.addWidget(label(f"and {len(site.workers) - MAX_NAMES} more", "Muted"))
        if expected is not None:
            self._expected(expected)
            self._refused(expected)
        self.body.addStretch(1)

    def _expected(self, expected: ExpectedNow) -> None:
        """Who should be here by the rota and is not: late and missed shifts."""
        missing = expected.at(self.site.location_id)
        self.expected_lines = [expected.describe(e) for e in missing]
        if missing:
            self._warnings(f"Expected, not here ({len(missing)})", self.expected_lines)

    def _refused(self, expected: ExpectedNow) -> None:
        """Punches queued on the site's kiosk that were refused in the last day."""
        refused = expected.refused_at(self.site.location_id)
        self.refused_lines = [expected.describe_refused(r) for r in refused]
        if refused:
            self._warnings(f"Kiosk punches refused ({len(refused)})", self.refused_lines)

    def _warnings(self, heading: str, lines: list[str]) -> None:
        title = label(heading, "SectionTitle")
        title.setStyleSheet("color: #b45309; font-size: 10pt;")
        self.body.addWidget(title)
        for line in lines[:MAX_NAMES]:
            row = QHBoxLayout()
            row.setSpacing(6)
            sign = QLabel()
            sign.setPixmap(theme.pixmap("warning", "#b45309", 14))
            row.addWidget(sign, 0, Qt.AlignmentFlag.AlignTop)
            row.addWidget(label(line, wrap=True), 1)
            self.body.addLayout(row)
        if len(lines) > MAX_NAMES:
            self.body.addWidget(label(f"and {len(lines) - MAX_NAMES} more", "Muted"))


class OnSitePanel(Panel):
    title = "On site now"
    subtitle = "Who is clocked in right now, by site. Updates by itself."
    icon_name = "on_site"
    depends_on = (kinds.ENTRIES, kinds.LOCATIONS, kinds.WORKERS)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.as_of = label("", "Muted")
        self.header_actions.addWidget(self.as_of)
        self.header_actions.addWidget(button("Refresh", "refresh", on_click=self.reload))
        self.total = label("", "SectionTitle")
        self.content.addWidget(self.total)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(12)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        self.empty = EmptyState("on_site", "No sites yet",
                                "This board shows who is clocked in at each of your client "
                                "sites, live. Add your first site to see it here.")
        self.empty.add_button(button("Add site…", "add", role="primary",
                                     on_click=lambda: self.open_requested.emit("locations/add")))
        self.empty.add_button(button("Load demo data", "demo",
                                     on_click=lambda: load_demo_data(self, self.session)))
        self.stack = QStackedWidget()
        self.stack.addWidget(scroll)
        self.stack.addWidget(self.empty)
        self.content.addWidget(self.stack, 1)
        self.cards: list[SiteCard] = []
        self.board: timesheets.OnSiteNow | None = None
        self.expected: ExpectedNow | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._loading = False

    def _tick(self) -> None:
        if self.isVisible() and self.session.account is not None and not self._loading:
            self.reload()

    def reload(self) -> None:
        account_id = self.session.account_id
        self._loading = True

        def done(board: timesheets.OnSiteNow, expected: ExpectedNow) -> None:
            self._loading = False
            self.show_board(board, expected)

        def failed(error) -> None:
            self._loading = False
            self.as_of.setText(describe(error))

        Operation(self, lambda: (timesheets.on_site_now(account_id), expected_now(account_id)),
                  success=lambda loaded: done(*loaded), failure=failed).run()

    def show_board(self, board: timesheets.OnSiteNow, expected: ExpectedNow | None = None,
                   ) -> None:
        self.board = board
        self.expected = expected
        for card in self.cards:
            self.grid.removeWidget(card)
            card.deleteLater()
        self.cards = []
        if not board.sites:
            self.stack.setCurrentWidget(self.empty)
            self.total.setText("")
            return
        self.stack.setCurrentWidget(self.stack.widget(0))
        columns = max(1, min(3, self.width() // 340))
        busiest = sorted(board.sites, key=lambda s: (-s.on_site, s.name))
        for n, site in enumerate(busiest):
            card = SiteCard(site, board.as_of, expected)
            self.grid.addWidget(card, n // columns, n % columns)
            self.cards.append(card)
        self.grid.setRowStretch(len(busiest) // columns + 1, 1)
        on_site = sum(s.on_site for s in board.sites)
        missing = len(expected.shifts) if expected is not None else 0
        self.total.setText(f"{on_site} worker{'s' if on_site != 1 else ''} on site at "
                           f"{len(board.sites)} site{'s' if len(board.sites) != 1 else ''}"
                           + (f" · {missing} expected, not here" if missing else ""))
        self.as_of.setText(f"Updated {clock(board.as_of)}")
