"""Departments and cost codes: short lists, filtered as the admin types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tempclock.api.services import cost_codes, departments
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import every, page_of
from tempclock_desktop.dialogs.catalogue import CostCodeDialog, DepartmentDialog
from tempclock_desktop.models.records import Column
from tempclock_desktop.panels.base import RecordPanel, RecordService


class DepartmentsPanel(RecordPanel):
    title = "Departments"
    subtitle = "How your workforce is grouped; each shows how many active workers it has."
    icon_name = "departments"
    noun = "department"
    kind = kinds.DEPARTMENTS
    depends_on = (kinds.DEPARTMENTS, kinds.WORKERS)
    server_search = False
    empty_title = "No departments yet"
    empty_text = "Departments group workers and cost codes (Warehouse, Drivers, Cleaning…)."
    service = RecordService(departments.create_department, departments.update_department,
                            departments.deactivate_department)

    def columns(self):
        return [
            Column("Name", lambda d: d.name, width=260, stretch=True),
            Column("Active workers", lambda d: str(d.worker_count), lambda d: d.worker_count,
                   align_right=True),
            Column("Status", lambda d: "Active" if d.active else "Inactive"),
        ]

    def fetch(self, account_id, after_id, search, include_inactive):
        return page_of(departments.list_departments, account_id, departments.DepartmentFilter,
                       after_id, active=None if include_inactive else True)

    def editor(self, record: departments.Department | None, save: Callable[[Any], Any],
               _context: None) -> DepartmentDialog:
        return DepartmentDialog(self, record, save)


class CostCodesPanel(RecordPanel):
    title = "Cost codes"
    subtitle = "Codes that time is booked against for billing and payroll."
    icon_name = "cost_codes"
    noun = "cost code"
    kind = kinds.COST_CODES
    depends_on = (kinds.COST_CODES, kinds.DEPARTMENTS)
    server_search = False
    empty_title = "No cost codes yet"
    empty_text = "Cost codes let payroll and invoicing split hours by job (WH-PICK, DRV-LOC…)."
    service = RecordService(cost_codes.create_cost_code, cost_codes.update_cost_code,
                            cost_codes.deactivate_cost_code)

    @staticmethod
    def editor_context(account_id: int) -> list[departments.Department]:
        return every(departments.list_departments, account_id, departments.DepartmentFilter,
                     active=True)

    def columns(self):
        return [
            Column("Code", lambda c: c.code, width=140),
            Column("Name", lambda c: c.name, width=220, stretch=True),
            Column("Department", lambda c: self._department_names.get(c.department_id, ""),
                   width=200),
            Column("Status", lambda c: "Active" if c.active else "Inactive"),
        ]

    def __init__(self, session, parent=None) -> None:
        self._department_names: dict[int | None, str] = {}  # for the Department column
        super().__init__(session, parent)

    def fetch(self, account_id, after_id, search, include_inactive):
        if after_id is None:  # names for the Department column, once per reload
            self._department_names = {
                d.id: d.name for d in every(departments.list_departments, account_id,
                                            departments.DepartmentFilter)}
        return page_of(cost_codes.list_cost_codes, account_id, cost_codes.CostCodeFilter,
                       after_id, active=None if include_inactive else True)

    def describe(self, record: Any) -> str:
        return f"{record.code} ({record.name})"

    def editor(self, record: cost_codes.CostCode | None, save: Callable[[Any], Any],
               active_departments: list[departments.Department]) -> CostCodeDialog:
        return CostCodeDialog(self, active_departments, record, save)
