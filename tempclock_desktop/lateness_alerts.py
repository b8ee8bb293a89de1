"""Who is expected and not here, in plain words, and the admin's notification when a shift
becomes late or missed or a punch queued on a kiosk is refused: a system tray message when
there is a tray, else a banner in the window. Each shift is announced once as late and once
as missed, each refused punch once, across restarts too (what was announced is kept in the
desktop's settings)."""

from __future__ import annotations

import datetime as dt
import html
import zoneinfo
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from tempclock.api.services import kiosk, lateness, locations
from tempclock_desktop.formatting import clock, when_short
from tempclock_desktop.operations import Operation
from tempclock_desktop.session import Session
from tempclock_desktop.widgets import Banner, button

CHECK_MS = 60_000
MAX_NAMED = 3  # more new ones at once are counted, not listed


ACTION_WORDS = {"clock_in": "clock in", "clock_out": "clock out", "break_start": "break start",
                "break_end": "break end"}
REFUSED_RECENT = dt.timedelta(days=1)  # refused kiosk punches stay on the board this long


@dataclass(frozen=True)
class Notice:
    """One thing the admin is told once: a shift late or missed, a kiosk punch refused."""

    key: str  # what it is about ("shift 12", "punch 3")
    state: str  # it is told again when this changes (late, then missed)
    title: str  # the notification's title when it comes alone
    line: str  # its line in the notification


@dataclass(frozen=True)
class ExpectedNow:
    """The shifts whose worker is expected and not here, the kiosk punches refused lately,
    and each of their sites' time zones."""

    shifts: list[lateness.Expected]
    zones: dict[int, zoneinfo.ZoneInfo]
    refused: list[kiosk.RefusedPunch] = field(default_factory=list)

    def at(self, location_id: int) -> list[lateness.Expected]:
        return [e for e in self.shifts if e.location_id == location_id]

    def refused_at(self, location_id: int) -> list[kiosk.RefusedPunch]:
        return [r for r in self.refused if r.location_id == location_id]

    def describe(self, expected: lateness.Expected) -> str:
        """"Anna Nowak — shift started 08:00, not clocked in", in the site's local time."""
        zone = self.zones.get(expected.location_id)
        start = clock(expected.starts_at, zone)
        if expected.status == "missed":
            return (f"{expected.worker_name} — shift {start}–{clock(expected.ends_at, zone)} "
                    "missed, never clocked in")
        return f"{expected.worker_name} — shift started {start}, not clocked in"

    def describe_refused(self, punch: kiosk.RefusedPunch) -> str:
        """"Anna Nowak — clock in of Tue 01 Dec 07:55, sent later from the kiosk, refused: …"."""
        moment = when_short(punch.made_at or punch.device_time or punch.received_at,
                            self.zones.get(punch.location_id))
        action = ACTION_WORDS.get(punch.action, punch.action)
        why = ("older than the site's backdating limit" if punch.code == kiosk.OUTSIDE_WINDOW
               else punch.reason or "the site does not accept it")  # the worker's words else
        return (f"{punch.worker_name or 'A worker'} — {action} of {moment}, sent later from "
                f"the kiosk, refused: {why}")

    def notices(self) -> list[Notice]:
        """Everything here the admin should be told of, once each."""
        told = [Notice(f"shift {e.shift_id}", e.status,
                       f"{e.worker_name} missed a shift" if e.status == "missed"
                       else f"{e.worker_name} is late",
                       f"{e.location_name}: {self.describe(e)}") for e in self.shifts]
        told += [Notice(f"punch {r.id}", "refused", "A kiosk punch was refused",
                        f"{r.location_name}: {self.describe_refused(r)}") for r in self.refused]
        return told


def expected_now(account_id: int) -> ExpectedNow:
    """Who is late or missed a shift now, the kiosk punches refused in the last day, and
    their sites' zones (runs on the pool)."""
    shifts = lateness.expected_not_here(account_id)
    since = dt.datetime.now(dt.UTC) - REFUSED_RECENT
    refused = [r for r in kiosk.refused_punches(account_id) if r.received_at >= since]
    zones = {}
    for location_id in {e.location_id for e in shifts} | {r.location_id for r in refused}:
        site = locations.get_location(account_id, location_id)
        zones[location_id] = zoneinfo.ZoneInfo(site.timezone)
    return ExpectedNow(shifts, zones, refused)


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
        self.banner.actions.addWidget(button("Dismiss", on_click=self.dismiss))
        if tray is not None:
            tray.messageClicked.connect(self.show_board)
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self._checking = False
        self.history: list[tuple[str, str]] = []  # (title, text) of each notification given
        self._unread: list[Notice] = []  # what the banner shows until dismissed
        session.account_changed.connect(lambda _account: self.check())

    def dismiss(self) -> None:
        """Hide the banner; what it said is not said again."""
        self._unread.clear()
        self.banner.hide()

    def _open_board(self) -> None:
        self.dismiss()
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
        notices = found.notices()
        new = [n for n in notices if told.get(prefix + n.key) != n.state]
        current = {prefix + n.key: n.state for n in notices}
        if new or current.keys() != told.keys():
            # Forget what is no longer listed, so the record stays small.
            others = {k: v for k, v in settings.late_notified.items() if not k.startswith(prefix)}
            settings.late_notified = {**others, **current}
            self.session.save_settings()
        if new:
            self._tell(new)

    @staticmethod
    def _words(new: list[Notice]) -> tuple[str, str]:
        if len(new) == 1:
            return new[0].title, f"{new[0].line}."
        lines = [n.line for n in new[:MAX_NAMED]]
        if len(new) > MAX_NAMED:
            lines.append(f"and {len(new) - MAX_NAMED} more: see On site now.")
        shifts = sum(n.key.startswith("shift ") for n in new)
        title = (f"{len(new)} workers expected and not here" if shifts == len(new) else
                 f"{len(new)} kiosk punches refused" if shifts == 0 else
                 f"{len(new)} things at your sites need a look")
        return title, "\n".join(lines)

    def _tell(self, new: list[Notice]) -> None:
        title, text = self._words(new)
        if self.tray is not None:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 15_000)
        else:  # the banner keeps what came before, until the admin dismisses it
            self._unread = [n for n in self._unread if n.key not in {m.key for m in new}] + new
            heading, lines = self._words(self._unread)
            body = "<br>".join(html.escape(line) for line in lines.splitlines())
            self.banner.show_message(f"<b>{html.escape(heading)}</b><br>{body}")
        self.history.append((title, text))
        self.announced.emit(title, text)
