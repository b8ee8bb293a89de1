"""Add or edit a department or a cost code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QWidget

from tempclock.api.services.cost_codes import CostCode, CostCodeCreate, CostCodeUpdate
from tempclock.api.services.departments import Department, DepartmentCreate, DepartmentUpdate
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.widgets import combo_pick, fill_combo


class DepartmentDialog(FormDialog):
    """`payload` is a DepartmentCreate or DepartmentUpdate."""

    def __init__(self, parent: QWidget | None, department: Department | None,
                 save: Callable[[Any], Any]) -> None:
        super().__init__(parent, "Edit department" if department else "Add department",
                         save_text="Save" if department else "Add department", save=save)
        self.department = department
        self.name = QLineEdit(department.name if department else "")
        self.name.setPlaceholderText("e.g. Warehouse")
        self.active = QCheckBox("Active")
        self.active.setChecked(department.active if department else True)
        self.add_row("Name", self.name, "name")
        if department is not None:
            self.add_row("", self.active, "active")

    @property
    def payload(self) -> DepartmentCreate | DepartmentUpdate:
        if self.department is None:
            return DepartmentCreate(name=self.name.text())
        return DepartmentUpdate(name=self.name.text(), active=self.active.isChecked())


class CostCodeDialog(FormDialog):
    """`payload` is a CostCodeCreate or CostCodeUpdate."""

    def __init__(self, parent: QWidget | None, departments: list[Department],
                 cost_code: CostCode | None, save: Callable[[Any], Any]) -> None:
        super().__init__(parent, "Edit cost code" if cost_code else "Add cost code",
                         save_text="Save" if cost_code else "Add cost code", save=save)
        self.cost_code = cost_code
        self.code = QLineEdit(cost_code.code if cost_code else "")
        self.code.setPlaceholderText("e.g. WH-PICK")
        self.name = QLineEdit(cost_code.name if cost_code else "")
        self.department = QComboBox()
        fill_combo(self.department, [(d.name, d.id) for d in departments], none="Any department")
        if cost_code is not None:
            combo_pick(self.department, cost_code.department_id)
        self.active = QCheckBox("Active (time can be booked to it)")
        self.active.setChecked(cost_code.active if cost_code else True)
        self.add_row("Code", self.code, "code")
        self.add_row("Name", self.name, "name")
        self.add_row("Department", self.department, "department_id")
        if cost_code is not None:
            self.add_row("", self.active, "active")

    @property
    def payload(self) -> CostCodeCreate | CostCodeUpdate:
        values = {"code": self.code.text(), "name": self.name.text(),
                  "department_id": self.department.currentData()}
        if self.cost_code is None:
            return CostCodeCreate(**values)
        return CostCodeUpdate(**values, active=self.active.isChecked())
