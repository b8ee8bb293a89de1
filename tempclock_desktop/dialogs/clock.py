"""Manual clocking from the office (source `desktop`), manual entries (source `manual`) and
corrections, each keeping a reason."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

import msgspec
from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from tempclock.api.services.clocking import BreakSpan, EntryChanges, EntryCreate
from tempclock.api.services.errors import Invalid
from tempclock.api.services.timesheets import TimeEntry
from tempclock_desktop.choices import Choices
from tempclock_desktop.dialogs.fields import TimeSpan, text_or_none, worker_items
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.widgets import combo_pick, fill_combo, label


class ClockIn(msgspec.Struct, kw_only=True):
    worker_id: int
    location_id: int | None
    timestamp: dt.datetime | None  # None: now
    notes: str | None


class ClockOut(msgspec.Struct, kw_only=True):
    worker_id: int
    timestamp: dt.datetime | None
    notes: str | None


class MomentField(QWidget):
    """"Now", or an earlier moment the admin picks (in this computer's time)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.earlier = QCheckBox("Earlier:")
        self.edit = QDateTimeEdit(QDateTime.currentDateTime())
        self.edit.setDisplayFormat("ddd d MMM yyyy HH:mm")
        self.edit.setCalendarPopup(True)
        self.edit.setEnabled(False)
        self.earlier.toggled.connect(self.edit.setEnabled)
        row.addWidget(label("Now, or"))
        row.addWidget(self.earlier)
        row.addWidget(self.edit, 1)

    @property
    def value(self) -> dt.datetime | None:
        if not self.earlier.isChecked():
            return None
        return self.edit.dateTime().toPython().astimezone()  # this computer's zone


class WorkerAtSiteDialog(FormDialog):
    """A form that opens with a worker (searchable by typing) and a site that follows the
    worker's assignment; `check` asks for the worker."""

    def add_worker_and_site(self, choices: Choices) -> None:
        self.assigned = {w.id: w.location_id for w in choices.workers}
        self.worker = QComboBox()
        self.worker.setEditable(True)
        self.worker.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        fill_combo(self.worker, worker_items(choices.workers))
        self.location = QComboBox()
        fill_combo(self.location, [(loc.name, loc.id) for loc in choices.locations])
        self.worker.currentIndexChanged.connect(lambda _i: self._worker_changed())
        self.add_row("Worker", self.worker, "worker_id")
        self.add_row("Site", self.location, "location_id")
        self._worker_changed()

    def _worker_changed(self) -> None:
        site = self.assigned.get(self.worker.currentData())
        if site is not None:
            combo_pick(self.location, site)

    def check(self) -> str | None:
        return None if self.worker.currentData() is not None else "Choose a worker"


class ClockInDialog(WorkerAtSiteDialog):
    """Clock a worker in by hand; `payload` is a ClockIn."""

    def __init__(self, parent: QWidget | None, choices: Choices,
                 save: Callable[[ClockIn], Any]) -> None:
        super().__init__(parent, "Clock a worker in", save_text="Clock in", save=save)
        self.add_worker_and_site(choices)
        self.moment = MomentField()
        self.notes = QLineEdit()
        self.notes.setPlaceholderText("e.g. Phone dead, clocked in by the office")
        self.add_row("Time", self.moment, "timestamp")
        self.add_row("Notes", self.notes, "notes")

    @property
    def payload(self) -> ClockIn:
        return ClockIn(worker_id=self.worker.currentData(), location_id=self.location.currentData(),
                       timestamp=self.moment.value, notes=text_or_none(self.notes))


class ClockOutDialog(FormDialog):
    """Clock out a worker who is clocked in; `payload` is a ClockOut."""

    def __init__(self, parent: QWidget | None, entry: TimeEntry,
                 save: Callable[[ClockOut], Any]) -> None:
        super().__init__(parent, f"Clock out {entry.worker_name}", save_text="Clock out",
                         save=save)
        self.entry = entry
        self.add_row("Clocked in", label(f"{entry.location_name}, "
                                         f"{entry.clock_in.astimezone():%a %d %b %H:%M}"))
        self.moment = MomentField()
        self.notes = QLineEdit()
        self.add_row("Time", self.moment, "timestamp")
        self.add_row("Notes", self.notes, "notes")

    @property
    def payload(self) -> ClockOut:
        return ClockOut(worker_id=self.entry.worker_id, timestamp=self.moment.value,
                        notes=text_or_none(self.notes))


class EntryEdit(msgspec.Struct, kw_only=True):
    changes: EntryChanges
    reason: str


def _to_qt(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> QDateTime:
    local = value.astimezone(tz).replace(tzinfo=None)
    return QDateTime(local.date(), local.time().replace(microsecond=0))


def _minute(value: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return value.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)


class EntryEditDialog(FormDialog):
    """Correct an entry's times, site or notes; a reason is required and kept in its history.

    Times are the site's local times. `payload` holds only what changed.
    """

    def __init__(self, parent: QWidget | None, entry: TimeEntry, choices: Choices,
                 save: Callable[[EntryEdit], Any]) -> None:
        super().__init__(parent, f"Correct entry {entry.id} — {entry.worker_name}",
                         save_text="Save correction", save=save)
        self.entry = entry
        self.zones = {loc.id: zoneinfo.ZoneInfo(loc.timezone) for loc in choices.locations}
        tz = self.zones.get(entry.location_id, zoneinfo.ZoneInfo("UTC"))
        self.tz = tz
        self.clock_in = QDateTimeEdit(_to_qt(entry.clock_in, tz))
        self.clock_out = QDateTimeEdit(_to_qt(entry.clock_out, tz) if entry.clock_out
                                       else QDateTime.currentDateTime())
        for edit in (self.clock_in, self.clock_out):
            edit.setDisplayFormat("ddd d MMM yyyy HH:mm")
            edit.setCalendarPopup(True)
        self.clock_out.setEnabled(entry.clock_out is not None)
        self.location = QComboBox()
        fill_combo(self.location, [(loc.name, loc.id) for loc in choices.locations])
        if self.location.findData(entry.location_id) < 0:
            self.location.addItem(entry.location_name, entry.location_id)
        combo_pick(self.location, entry.location_id)
        self.notes = QLineEdit(entry.notes or "")
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("Why is this corrected? (kept with the entry's history)")
        self.reason.setFixedHeight(70)
        self.add_row("Clock in (site time)", self.clock_in, "clock_in")
        self.add_row("Clock out (site time)", self.clock_out, "clock_out")
        self.add_row("Site", self.location, "location_id")
        self.add_row("Notes", self.notes, "notes")
        self.add_row("Reason", self.reason, "reason")

    def check(self) -> str | None:
        return None if self.reason.toPlainText().strip() else \
            "Give a reason for the correction: it is kept with the entry."

    @property
    def payload(self) -> EntryEdit:
        changes: dict[str, Any] = {}
        entry = self.entry
        clock_in = self.clock_in.dateTime().toPython().replace(second=0, microsecond=0)
        if _minute(entry.clock_in, self.tz) != clock_in:
            changes["clock_in"] = clock_in  # naive: the service reads it as site-local
        if entry.clock_out is not None:
            clock_out = self.clock_out.dateTime().toPython().replace(second=0, microsecond=0)
            if _minute(entry.clock_out, self.tz) != clock_out:
                changes["clock_out"] = clock_out
        if self.location.currentData() != entry.location_id:
            changes["location_id"] = self.location.currentData()
        notes = text_or_none(self.notes)
        if notes != (entry.notes or None):
            changes["notes"] = notes
        if not changes:
            raise Invalid("Nothing was changed", field="clock_in")
        return EntryEdit(changes=EntryChanges(**changes), reason=self.reason.toPlainText())


class ManualEntry(msgspec.Struct, kw_only=True):
    worker_id: int
    location_id: int
    clock_in: dt.datetime  # naive: the site's local time
    clock_out: dt.datetime
    break_minutes: int
    notes: str | None
    reason: str
    zone: zoneinfo.ZoneInfo  # the site's

    @property
    def breaks(self) -> list[BreakSpan]:
        """The unpaid break, placed in the middle of the time worked.

        Reckoned in UTC: the middle by the wall clock can fall in the hour a spring
        clock change skips.
        """
        if not self.break_minutes:
            return []
        length = dt.timedelta(minutes=self.break_minutes)
        start, end = (moment.replace(tzinfo=self.zone).astimezone(dt.UTC)
                      for moment in (self.clock_in, self.clock_out))
        middle = (start + (end - start - length) / 2).replace(microsecond=0)
        return [BreakSpan(start=middle, end=middle + length)]

    @property
    def request(self) -> EntryCreate:
        """The manual entry as the service takes it."""
        return EntryCreate(worker_id=self.worker_id, location_id=self.location_id,
                           clock_in=self.clock_in, clock_out=self.clock_out, breaks=self.breaks,
                           notes=self.notes, reason=self.reason)


class EntryAddDialog(WorkerAtSiteDialog):
    """Record a finished entry after the fact (a missed clock-in beyond the backdating limit);
    `payload` is a ManualEntry."""

    def __init__(self, parent: QWidget | None, choices: Choices,
                 save: Callable[[ManualEntry], Any]) -> None:
        super().__init__(parent, "Add a timesheet entry", save_text="Add entry", save=save)
        self.setMinimumWidth(600)
        self.add_worker_and_site(choices)
        self.zones = {loc.id: zoneinfo.ZoneInfo(loc.timezone) for loc in choices.locations}
        self.times = TimeSpan()
        self.times.day.setDate(self.times.day.date().addDays(-1))
        self.break_minutes = QSpinBox()
        self.break_minutes.setRange(0, 24 * 60)
        self.break_minutes.setSingleStep(15)
        self.break_minutes.setValue(30)
        self.break_minutes.setSuffix(" min, mid-shift")
        self.notes = QLineEdit()
        self.reason = QPlainTextEdit()
        self.reason.setPlaceholderText("e.g. Forgot to clock in; confirmed by the site manager "
                                       "(kept with the entry's history)")
        self.reason.setFixedHeight(70)
        self.add_row("Worked", self.times, "clock_out")
        self.times.setToolTip("The site's local time")
        self.add_row("Unpaid break", self.break_minutes, "breaks")
        self.add_row("Notes", self.notes, "notes")
        self.add_row("Reason", self.reason, "reason")

    def check(self) -> str | None:
        return None if self.reason.toPlainText().strip() else \
            "Give a reason for adding this entry by hand: it is kept with the entry."

    @property
    def payload(self) -> ManualEntry:
        start, end = self.times.span
        site = self.location.currentData()
        return ManualEntry(worker_id=self.worker.currentData(), location_id=site,
                           clock_in=start, clock_out=end,
                           break_minutes=self.break_minutes.value(),
                           notes=text_or_none(self.notes), reason=self.reason.toPlainText(),
                           zone=self.zones.get(site, zoneinfo.ZoneInfo("UTC")))
