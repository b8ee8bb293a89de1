"""Add or edit a worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QWidget

from tempclock.api.services.workers import LANGUAGES, Worker, WorkerCreate, WorkerUpdate
from tempclock_desktop.choices import Choices
from tempclock_desktop.dialogs.fields import OptionalDate, text_or_none
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.dialogs.pin import PinDialog
from tempclock_desktop.widgets import button, combo_pick, fill_combo

LANGUAGE_NAMES = {"en": "English", "pl": "Polish", "ro": "Romanian", "lt": "Lithuanian"}


class WorkerDialog(FormDialog):
    """The worker's details; `payload` is a WorkerCreate (new) or WorkerUpdate (edit)."""

    def __init__(self, parent: QWidget | None, choices: Choices, worker: Worker | None,
                 save: Callable[[Any], Any], account_id: int | None = None) -> None:
        super().__init__(parent, "Edit worker" if worker else "Add worker",
                         save_text="Save" if worker else "Add worker", save=save)
        self.worker = worker
        self.first_name = QLineEdit()
        self.last_name = QLineEdit()
        self.employee_ref = QLineEdit()
        self.employee_ref.setPlaceholderText("e.g. EMP-1042 (unique)")
        self.email = QLineEdit()
        self.phone = QLineEdit()
        self.role = QLineEdit()
        self.role.setPlaceholderText("e.g. Operative, Driver")
        self.location = QComboBox()
        fill_combo(self.location, [(loc.name, loc.id) for loc in choices.locations],
                   none="No assigned site")
        self.department = QComboBox()
        fill_combo(self.department, [(d.name, d.id) for d in choices.departments],
                   none="No department")
        self.language = QComboBox()
        fill_combo(self.language, [(LANGUAGE_NAMES[code], code) for code in LANGUAGES])
        self.starts_on = OptionalDate("From")
        self.ends_on = OptionalDate("Until")
        self.active = QCheckBox("Active (can clock in and be scheduled)")
        self.active.setChecked(True)
        self.add_row("First name", self.first_name, "first_name")
        self.add_row("Last name", self.last_name, "last_name")
        self.add_row("Employee ref", self.employee_ref, "employee_ref")
        self.add_row("Email", self.email, "email")
        self.add_row("Phone", self.phone, "phone")
        self.add_row("Role", self.role, "role")
        self.add_row("Assigned site", self.location, "location_id")
        self.add_row("Department", self.department, "department_id")
        self.add_row("Language", self.language, "preferred_language")
        self.add_row("Assignment", self.starts_on, "assignment_starts_on")
        self.add_row("", self.ends_on, "assignment_ends_on")
        if worker is not None:
            self.add_row("", self.active, "active")
            self._fill(worker)
        if worker is not None and account_id is not None:
            self.pin_button = button("Set or reset kiosk PIN…", on_click=lambda: PinDialog(
                self, account_id, worker).open())
            self.add_row("Kiosk PIN", self.pin_button)

    def _fill(self, worker: Worker) -> None:
        self.first_name.setText(worker.first_name)
        self.last_name.setText(worker.last_name)
        self.employee_ref.setText(worker.employee_ref or "")
        self.email.setText(worker.email or "")
        self.phone.setText(worker.phone or "")
        self.role.setText(worker.role or "")
        if worker.location_id is not None and self.location.findData(worker.location_id) < 0:
            self.location.addItem(worker.location_name or f"Site {worker.location_id}",
                                  worker.location_id)
        combo_pick(self.location, worker.location_id)
        if worker.department_id is not None and self.department.findData(worker.department_id) < 0:
            self.department.addItem(worker.department or "", worker.department_id)
        combo_pick(self.department, worker.department_id)
        combo_pick(self.language, worker.preferred_language)
        if worker.assignment is not None:
            self.starts_on.value = worker.assignment.starts_on
            self.ends_on.value = worker.assignment.ends_on
        self.active.setChecked(worker.active)

    @property
    def payload(self) -> WorkerCreate | WorkerUpdate:
        values = {
            "first_name": self.first_name.text(),
            "last_name": self.last_name.text(),
            "employee_ref": text_or_none(self.employee_ref),
            "email": text_or_none(self.email),
            "phone": text_or_none(self.phone),
            "role": text_or_none(self.role),
            "location_id": self.location.currentData(),
            "department_id": self.department.currentData(),
            "preferred_language": self.language.currentData(),
            "assignment_starts_on": self.starts_on.value,
            "assignment_ends_on": self.ends_on.value,
        }
        if self.worker is None:
            return WorkerCreate(**values)
        return WorkerUpdate(**values, active=self.active.isChecked())
