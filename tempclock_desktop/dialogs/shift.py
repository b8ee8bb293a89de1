"""Create or edit a shift: times are local at the shift's site; an end before the start
means the shift ends the next day (overnight)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QLineEdit, QSpinBox, QWidget

from tempclock.api.services.shifts import Shift, ShiftCreate, ShiftUpdate
from tempclock_desktop.choices import Choices
from tempclock_desktop.dialogs.fields import TimeSpan, text_or_none, worker_items
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.widgets import combo_pick, fill_combo


class ShiftDialog(FormDialog):
    """`payload` is a ShiftCreate (new) or ShiftUpdate (edit), with site-local times."""

    def __init__(self, parent: QWidget | None, choices: Choices, save: Callable[[Any], Any], *,
                 shift: Shift | None = None, location_id: int | None = None,
                 worker_id: int | None = None, day: dt.date | None = None) -> None:
        super().__init__(parent, "Edit shift" if shift else "New shift",
                         save_text="Save" if shift else "Create shift", save=save)
        self.setMinimumWidth(600)
        self.shift = shift
        self.zones = {loc.id: loc.timezone for loc in choices.locations}
        self.location = QComboBox()
        fill_combo(self.location, [(loc.name, loc.id) for loc in choices.locations])
        self.worker = QComboBox()
        fill_combo(self.worker, worker_items(choices.workers), none="Open shift (no worker yet)")
        self.times = TimeSpan()
        self.break_minutes = QSpinBox()
        self.break_minutes.setRange(0, 24 * 60)
        self.break_minutes.setSingleStep(15)
        self.break_minutes.setSuffix(" min")
        self.role = QLineEdit()
        self.role.setPlaceholderText("e.g. Picker, Forklift")
        self.notes = QLineEdit()
        self.add_row("Site", self.location, "location_id")
        self.add_row("Worker", self.worker, "worker_id")
        self.add_row("When", self.times, "end")
        self.times.setToolTip("The site's local time")
        self.add_row("Unpaid break", self.break_minutes, "break_minutes")
        self.add_row("Role", self.role, "role")
        self.add_row("Notes", self.notes, "notes")
        if shift is not None:
            self._fill(shift)
        else:
            combo_pick(self.location, location_id)
            combo_pick(self.worker, worker_id)
            self.times.set_day(day or dt.date.today())
            self.break_minutes.setValue(30)

    def _fill(self, shift: Shift) -> None:
        if self.location.findData(shift.location_id) < 0:
            self.location.addItem(shift.location_name, shift.location_id)
        combo_pick(self.location, shift.location_id)
        if shift.worker_id is not None and self.worker.findData(shift.worker_id) < 0:
            self.worker.addItem(shift.worker_name or "", shift.worker_id)
        combo_pick(self.worker, shift.worker_id)
        tz = zoneinfo.ZoneInfo(self.zones.get(shift.location_id, "UTC"))
        self.times.set_span(shift.start.astimezone(tz), shift.end.astimezone(tz))
        self.break_minutes.setValue(shift.break_minutes)
        self.role.setText(shift.role or "")
        self.notes.setText(shift.notes or "")

    @property
    def payload(self) -> ShiftCreate | ShiftUpdate:
        start, end = self.times.span
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
