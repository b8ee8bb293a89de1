"""Who is expected and not here, in plain words, and the admin's notification when a shift
becomes late or missed: a system tray message when there is a tray, else a banner in the
window. Each shift is announced once as late and once as missed, across restarts too
(what was announced is kept in the desktop's settings)."""

from __future__ import annotations

import html
import zoneinfo
from dataclasses import dataclass

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from tempclock.api.services import lateness, locations
from tempclock_desktop.formatting import clock
from tempclock_desktop.operations import Operation
from tempclock_desktop.session import Session
from tempclock_desktop.widgets import Banner, button

CHECK_MS = 60_000
MAX_NAMED = 3  # more new ones at once are counted, not listed


@dataclass(frozen=True)
class ExpectedNow:
    """The shifts whose worker is expected and not here, with each site's time zone."""

    shifts: list[lateness.Expected]
    zones: dict[int, zoneinfo.ZoneInfo]

    def at(self, location_id: int) -> list[lateness.Expected]:
        return [e for e in self.shifts if e.location_id == location_id]

    def describe(self, expected: lateness.Expected) -> str:
        """"Anna Nowak — shift started 08:00, not clocked in", in the site's local time."""
        zone = self.zones.get(expected.location_id)
        start = clock(expected.starts_at, zone)
        if expected.status == "missed":
            return (f"{expected.worker_name} — shift {start}–{clock(expected.ends_at, zone)} "
                    "missed, never clocked in")
        return f"{expected.worker_name} — shift started {start}, not clocked in"


def expected_now(account_id: int) -> ExpectedNow:
    """Who is late or missed a shift now, and their sites' zones (runs on the pool)."""
    shifts = lateness.expected_not_here(account_id)
    zones = {}
    for location_id in {e.location_id for e in shifts}:
        site = locations.get_location(account_id, location_id)
        zones[location_id] = zoneinfo.ZoneInfo(site.timezone)
    return ExpectedNow(shifts, zones)


class LatenessAlerts(QObject):
    """Checks now and then who is expected and not here, and tells the admin what is new."""

    announced = Signal(str, str)  # title, text: what the admin was told
    show_board = Signal()  # the admin asked to see the On site now board

    def __init__(self, session: Session, tray: QSystemTrayIcon | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tray = tray
        self.banner = Banner("warning")
        self.banner.actions.addWidget(button("Show on site now", on_click=self._open_board))
        self.banner.actions.addWidget(button("Dismiss", on_click=self.banner.hide))
        if tray is not None:
            tray.messageClicked.connect(self.show_board)
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self._checking = False
        self.history: list[tuple[str, str]] = []  # (title, text) of each notification given
        session.account_changed.connect(lambda _account: self.check())

    def _open_board(self) -> None:
        self.banner.hide()
        self.show_board.emit()

    def check(self) -> None:
        """Look now (on the pool) and announce the shifts that became late or missed."""
        account_id = self.session.account_id
        if account_id is None or self._checking:
            return
        self._checking = True

        def done(found: ExpectedNow) -> None:
            self._checking = False
            self._announce_new(account_id, found)

        def failed(_error: BaseException) -> None:
            self._checking = False  # tried again at the next tick

        Operation(self, lambda: expected_now(account_id), success=done, failure=failed).run()

    def _announce_new(self, account_id: int, found: ExpectedNow) -> None:
        settings = self.session.settings
        prefix = f"{account_id}:"
        told = {k: v for k, v in settings.late_notified.items() if k.startswith(prefix)}
        new = [e for e in found.shifts if told.get(f"{prefix}{e.shift_id}") != e.status]
        current = {f"{prefix}{e.shift_id}": e.status for e in found.shifts}
        if new or current.keys() != told.keys():
            # Forget the shifts no longer listed, so the record stays small.
            others = {k: v for k, v in settings.late_notified.items() if not k.startswith(prefix)}
            settings.late_notified = {**others, **current}
            self.session.save_settings()
        if new:
            self._tell(*self._words(new, found))

    @staticmethod
    def _words(new: list[lateness.Expected], found: ExpectedNow) -> tuple[str, str]:
        if len(new) == 1:
            e = new[0]
            title = (f"{e.worker_name} missed a shift" if e.status == "missed"
                     else f"{e.worker_name} is late")
            return title, f"{e.location_name}: {found.describe(e)}."
        lines = [f"{e.location_name}: {found.describe(e)}" for e in new[:MAX_NAMED]]
        if len(new) > MAX_NAMED:
            lines.append(f"and {len(new) - MAX_NAMED} more: see On site now.")
        return f"{len(new)} workers expected and not here", "\n".join(lines)

    def _tell(self, title: str, text: str) -> None:
        if self.tray is not None:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 15_000)
        else:
            body = "<br>".join(html.escape(line) for line in text.splitlines())
            self.banner.show_message(f"<b>{html.escape(title)}</b><br>{body}")
        self.history.append((title, text))
        self.announced.emit(title, text)
