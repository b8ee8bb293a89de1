"""Departments of the agency's workforce."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from peewee import JOIN, fn

from tempclock.api.services.common import (
    ListParams,
    Page,
    clean_text,
    fetch,
    fetch_one,
    paginate,
    save_row,
    set_fields,
    utc,
)
from tempclock.api.services.errors import Conflict
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.prepared import Prepared


class Department(msgspec.Struct, kw_only=True):
    id: int
    name: str
    worker_count: int
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class DepartmentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str
    active: bool = True


class DepartmentUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class DepartmentFilter(ListParams, kw_only=True):
    active: bool | None = None


def _query(account_id: int):
    counts = (
        WorkerRow.select(WorkerRow.department, fn.COUNT(WorkerRow.id).alias("n"))
        .where((WorkerRow.account == account_id) & WorkerRow.active)
        .group_by(WorkerRow.department)
        .alias("counts")
    )
    return (
        DepartmentRow.select(DepartmentRow, fn.COALESCE(counts.c.n, 0).alias("worker_count"))
        .join(counts, JOIN.LEFT_OUTER, on=(counts.c.department_id == DepartmentRow.id))
        .where(DepartmentRow.account == account_id)
        .objects()
    )


def _record(row: DepartmentRow) -> Department:
    return Department(
        id=row.id,
        name=row.name,
        worker_count=getattr(row, "worker_count", 0) or 0,
        active=row.active,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    columns = dict(fields)
    if "name" in columns:
        columns["name"] = clean_text(columns["name"], "name", max_length=100, required=True)
    if "active" in columns:
        columns["active"] = bool(columns["active"])
    return columns


def list_departments(account_id: int, params: DepartmentFilter | None = None) -> Page[Department]:
    """Departments of the account, each with how many active workers it has."""
    params = params or DepartmentFilter()
    query = _query(account_id)
    if params.active is not None:
        query = query.where(DepartmentRow.active == params.active)
    return paginate(query, DepartmentRow, params, _record)


_one = Prepared(lambda p: _query(p.account).where(DepartmentRow.id == p.id))


def get_department(account_id: int, department_id: int) -> Department:
    """One department of the account, or NotFound."""
    return _record(fetch_one(_one, "Department", department_id, account=account_id))


def _save(row: DepartmentRow, event: str) -> Department:
    return save_row(
        row,
        event=event,
        to_record=lambda r: get_department(r.account_id, r.id),
        duplicate=lambda: Conflict(f"A department named {row.name!r} already exists",
                                   code="duplicate_department"),
    )


def create_department(account_id: int, data: DepartmentCreate) -> Department:
    """Create a department; names are unique within the account."""
    row = DepartmentRow(account=account_id, **_columns(msgspec.structs.asdict(data)))
    return _save(row, "department_created")


def update_department(account_id: int, department_id: int, data: DepartmentUpdate) -> Department:
    """Rename a department or (de)activate it."""
    row = fetch(DepartmentRow, account_id, department_id, "Department")
    for column, value in _columns(set_fields(data)).items():
        setattr(row, column, value)
    return _save(row, "department_updated")


def deactivate_department(account_id: int, department_id: int) -> Department:
    """Hide a department from new work; its history stays."""
    return update_department(account_id, department_id, DepartmentUpdate(active=False))
