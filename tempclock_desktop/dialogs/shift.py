"""Create or edit a shift: times are local at the shift's site; an end before the start
means the shift ends the next day (overnight)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QDate, QTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from api.services.shifts import Shift, ShiftCreate, ShiftUpdate
from tempclock_desktop.choices import Choices
from tempclock_desktop.dialogs.fields import text_or_none
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.widgets import combo_pick, fill_combo, label


class ShiftDialog(FormDialog):
    """`payload` is a ShiftCreate (new) or ShiftUpdate (edit), with site-local times."""

    def __init__(self, parent: QWidget | None, choices: Choices, save: Callable[[Any], Any], *,
                 shift: Shift | None = None, location_id: int | None = None,
                 worker_id: int | None = None, day: dt.date | None = None) -> None:
        super().__init__(parent, "Edit shift" if shift else "New shift",
                         save_text="Save" if shift else "Create shift", save=save)
        self.shift = shift
        self.zones = {loc.id: loc.timezone for loc in choices.locations}
        self.location = QComboBox()
        fill_combo(self.location, [(loc.name, loc.id) for loc in choices.locations])
        self.worker = QComboBox()
        fill_combo(self.worker, [(f"{w.name} ({w.employee_ref})" if w.employee_ref else w.name,
                                  w.id) for w in sorted(choices.workers,
                                                        key=lambda w: (w.last_name, w.first_name))],
                   none="Open shift (no worker yet)")
        self.day = QDateEdit()
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("ddd d MMM yyyy")
        self.start = QTimeEdit(QTime(6, 0))
        self.end = QTimeEdit(QTime(14, 0))
        for edit in (self.start, self.end):
            edit.setDisplayFormat("HH:mm")
            edit.timeChanged.connect(lambda _t: self._times_changed())
        times = QWidget()
        row = QHBoxLayout(times)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.start)
        row.addWidget(label("to"))
        row.addWidget(self.end)
        self.overnight = label("", "Muted")
        row.addWidget(self.overnight, 1)
        self.break_minutes = QSpinBox()
        self.break_minutes.setRange(0, 24 * 60)
        self.break_minutes.setSingleStep(15)
        self.break_minutes.setSuffix(" min")
        self.role = QLineEdit()
        self.role.setPlaceholderText("e.g. Picker, Forklift")
        self.notes = QLineEdit()
        self.add_row("Site", self.location, "location_id")
        self.add_row("Worker", self.worker, "worker_id")
        self.add_row("Day", self.day, "start")
        self.add_row("Time (site's local)", times, "end")
        self.add_row("Unpaid break", self.break_minutes, "break_minutes")
        self.add_row("Role", self.role, "role")
        self.add_row("Notes", self.notes, "notes")
        if shift is not None:
            self._fill(shift)
        else:
            combo_pick(self.location, location_id)
            combo_pick(self.worker, worker_id)
            when = day or dt.date.today()
            self.day.setDate(QDate(when.year, when.month, when.day))
            self.break_minutes.setValue(30)
        self._times_changed()

    def _zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.zones.get(self.location.currentData(), "UTC"))

    def _fill(self, shift: Shift) -> None:
        if self.location.findData(shift.location_id) < 0:
            self.location.addItem(shift.location_name, shift.location_id)
        combo_pick(self.location, shift.location_id)
        if shift.worker_id is not None and self.worker.findData(shift.worker_id) < 0:
            self.worker.addItem(shift.worker_name or "", shift.worker_id)
        combo_pick(self.worker, shift.worker_id)
        tz = zoneinfo.ZoneInfo(self.zones.get(shift.location_id, "UTC"))
        start, end = shift.start.astimezone(tz), shift.end.astimezone(tz)
        self.day.setDate(QDate(start.year, start.month, start.day))
        self.start.setTime(QTime(start.hour, start.minute))
        self.end.setTime(QTime(end.hour, end.minute))
        self.break_minutes.setValue(shift.break_minutes)
        self.role.setText(shift.role or "")
        self.notes.setText(shift.notes or "")

    def _times_changed(self) -> None:
        ends_next_day = self.end.time() <= self.start.time()
        self.overnight.setText("ends the next day" if ends_next_day else "")

    @property
    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """Start and end as naive local times at the site (the service reads them so)."""
        day = self.day.date().toPython()
        start = dt.datetime.combine(day, self.start.time().toPython())
        end = dt.datetime.combine(day, self.end.time().toPython())
        if end <= start:
            end += dt.timedelta(days=1)
        return start, end

    @property
    def payload(self) -> ShiftCreate | ShiftUpdate:
        start, end = self.span
        values = {
            "location_id": self.location.currentData(),
            "worker_id": self.worker.currentData(),
            "start": start,
            "end": end,
            "break_minutes": self.break_minutes.value(),
            "role": text_or_none(self.role),
            "notes": text_or_none(self.notes),
        }
        return ShiftUpdate(**values) if self.shift else ShiftCreate(**values)
