"""Cost codes that time is booked against."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tempclock.api.services.common import (
    ListParams,
    Page,
    clean_text,
    fetch,
    paginate,
    save_row,
    set_fields,
    utc,
)
from tempclock.api.services.errors import Conflict
from tempclock.api.store.models import CostCode as CostCodeRow
from tempclock.api.store.models import Department as DepartmentRow


class CostCode(msgspec.Struct, kw_only=True):
    id: int
    code: str
    name: str
    department_id: int | None
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CostCodeCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str
    name: str
    department_id: int | None = None
    active: bool = True


class CostCodeUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str | UnsetType = UNSET
    name: str | UnsetType = UNSET
    department_id: int | None | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CostCodeFilter(ListParams, kw_only=True):
    active: bool | None = None
    department_id: int | None = None


def _record(row: CostCodeRow) -> CostCode:
    return CostCode(
        id=row.id,
        code=row.code,
        name=row.name,
        department_id=row.department_id,
        active=row.active,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _columns(account_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "code" in fields:
        columns["code"] = clean_text(fields["code"], "code", max_length=50, required=True)
    if "name" in fields:
        columns["name"] = clean_text(fields["name"], "name", max_length=100, required=True)
    if "department_id" in fields:
        department_id = fields["department_id"]
        columns["department"] = (
            None if department_id is None
            else fetch(DepartmentRow, account_id, department_id, "Department").id
        )
    if "active" in fields:
        columns["active"] = bool(fields["active"])
    return columns


def list_cost_codes(account_id: int, params: CostCodeFilter | None = None) -> Page[CostCode]:
    """Cost codes of the account."""
    params = params or CostCodeFilter()
    query = CostCodeRow.select().where(CostCodeRow.account == account_id)
    if params.active is not None:
        query = query.where(CostCodeRow.active == params.active)
    if params.department_id is not None:
        query = query.where(CostCodeRow.department == params.department_id)
    return paginate(query, CostCodeRow, params, _record)


def get_cost_code(account_id: int, cost_code_id: int) -> CostCode:
    """One cost code of the account, or NotFound."""
    return _record(fetch(CostCodeRow, account_id, cost_code_id, "Cost code"))


def _save(row: CostCodeRow, event: str) -> CostCode:
    return save_row(
        row,
        event=event,
        to_record=_record,
        duplicate=lambda: Conflict(f"Cost code {row.code!r} already exists",
                                   code="duplicate_cost_code"),
    )


def create_cost_code(account_id: int, data: CostCodeCreate) -> CostCode:
    """Create a cost code; codes are unique within the account."""
    row = CostCodeRow(account=account_id,
                      **_columns(account_id, msgspec.structs.asdict(data)))
    return _save(row, "cost_code_created")


def update_cost_code(account_id: int, cost_code_id: int, data: CostCodeUpdate) -> CostCode:
    """Change a cost code's code, name, department or active flag."""
    row = fetch(CostCodeRow, account_id, cost_code_id, "Cost code")
    for column, value in _columns(account_id, set_fields(data)).items():
        setattr(row, column, value)
    return _save(row, "cost_code_updated")


def deactivate_cost_code(account_id: int, cost_code_id: int) -> CostCode:
    """Stop a cost code being used for new time; its history stays."""
    return update_cost_code(account_id, cost_code_id, CostCodeUpdate(active=False))
