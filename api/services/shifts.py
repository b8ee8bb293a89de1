"""Shifts: scheduled work at a location, assigned to a worker or left open.

Rules: the end is after the start and at most 24 hours later; a worker never
holds two overlapping shifts; an inactive worker cannot be assigned. Times
without an offset are local times at the shift's location.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from peewee import JOIN, IntegrityError

from tempclock.api.services.common import (
    ListParams,
    Page,
    as_naive_utc,
    check_choice,
    check_range,
    clean_text,
    emit,
    fetch,
    fetch_one,
    local_date,
    lock_for_update,
    paginate,
    set_fields,
    transaction,
    utc,
    utcnow,
    zone,
)
from tempclock.api.services.errors import Conflict, Invalid, require
from tempclock.api.store.models import CostCode as CostCodeRow
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Shift as ShiftRow
from tempclock.api.store.models import ShiftAlert as AlertRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.prepared import Prepared

MAX_SHIFT = dt.timedelta(hours=24)
STATUSES = ("scheduled", "open", "cancelled")


class Shift(msgspec.Struct, kw_only=True):
    id: int
    worker_id: int | None
    worker_name: str | None
    location_id: int
    location_name: str
    department_id: int | None
    department: str | None
    cost_code_id: int | None
    role: str | None
    start: dt.datetime
    end: dt.datetime
    break_minutes: int
    notes: str | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class ShiftCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    location_id: int | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    worker_id: int | None = None
    department_id: int | None = None
    cost_code_id: int | None = None
    role: str | None = None
    break_minutes: int = 0
    notes: str | None = None


class ShiftUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    location_id: int | UnsetType = UNSET
    start: dt.datetime | UnsetType = UNSET
    end: dt.datetime | UnsetType = UNSET
    worker_id: int | None | UnsetType = UNSET
    department_id: int | None | UnsetType = UNSET
    cost_code_id: int | None | UnsetType = UNSET
    role: str | None | UnsetType = UNSET
    break_minutes: int | UnsetType = UNSET
    notes: str | None | UnsetType = UNSET


class ShiftFilter(ListParams, kw_only=True):
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    worker_id: int | None = None
    location_id: int | None = None
    department_id: int | None = None
    status: str | None = None


def _query(account_id: int):
    return (
        ShiftRow.select(
            ShiftRow,
            WorkerRow.first_name,
            WorkerRow.last_name,
            LocationRow.name.alias("location_name"),
            DepartmentRow.name.alias("department_name"),
        )
        .join_from(ShiftRow, WorkerRow, JOIN.LEFT_OUTER)
        .join_from(ShiftRow, LocationRow)
        .join_from(ShiftRow, DepartmentRow, JOIN.LEFT_OUTER)
        .where(ShiftRow.account == account_id)
        .objects()
    )


def _record(row: ShiftRow) -> Shift:
    return Shift(
        id=row.id,
        worker_id=row.worker_id,
        worker_name=(f"{row.first_name} {row.last_name}" if row.worker_id is not None else None),
        location_id=row.location_id,
        location_name=row.location_name,
        department_id=row.department_id,
        department=row.department_name,
        cost_code_id=row.cost_code_id,
        role=row.role,
        start=utc(row.start),
        end=utc(row.end),
        break_minutes=row.break_minutes,
        notes=row.notes,
        status=row.status,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def list_shifts(account_id: int, params: ShiftFilter | None = None) -> Page[Shift]:
    """Shifts of the account; dates filter on the local date the shift starts at its location."""
    params = params or ShiftFilter()
    query = _query(account_id)
    if params.date_from is not None:
        query = query.where(ShiftRow.work_date >= params.date_from)
    if params.date_to is not None:
        query = query.where(ShiftRow.work_date <= params.date_to)
    if params.date_from and params.date_to and params.date_to < params.date_from:
        raise Invalid("date_to must not be before date_from", field="date_to")
    if params.worker_id is not None:
        query = query.where(ShiftRow.worker == params.worker_id)
    if params.location_id is not None:
        query = query.where(ShiftRow.location == params.location_id)
    if params.department_id is not None:
        query = query.where(ShiftRow.department == params.department_id)
    if params.status is not None:
        query = query.where(ShiftRow.status == check_choice(params.status, "status", STATUSES))
    return paginate(query, ShiftRow, params, _record)


_one = Prepared(lambda p: _query(p.account).where(ShiftRow.id == p.id))


def get_shift(account_id: int, shift_id: int) -> Shift:
    """One shift of the account, or NotFound."""
    return _record(fetch_one(_one, "Shift", shift_id, account=account_id))


def _apply(account_id: int, row: ShiftRow, fields: dict[str, Any]) -> None:
    """Validate `fields` and set them on `row` (times converted to stored UTC)."""
    if "location_id" in fields:
        row.location = fetch(LocationRow, account_id, require(fields["location_id"],
                                                              "location_id"), "Location")
    tz = zone(row.location.timezone)
    for name in ("start", "end"):
        if name in fields:
            setattr(row, name, as_naive_utc(require(fields[name], name), tz, field=name))
    if "worker_id" in fields:
        ident = fields["worker_id"]
        row.worker = None if ident is None else fetch(WorkerRow, account_id, ident, "Worker")
    if "department_id" in fields:
        ident = fields["department_id"]
        row.department = (None if ident is None
                          else fetch(DepartmentRow, account_id, ident, "Department"))
    if "cost_code_id" in fields:
        ident = fields["cost_code_id"]
        row.cost_code = (None if ident is None
                         else fetch(CostCodeRow, account_id, ident, "Cost code"))
    if "role" in fields:
        row.role = clean_text(fields["role"], "role", max_length=100)
    if "notes" in fields:
        row.notes = clean_text(fields["notes"], "notes", max_length=2000, multiline=True)
    if "break_minutes" in fields:
        check_range(fields["break_minutes"], "break_minutes", 0, 24 * 60)
        row.break_minutes = int(fields["break_minutes"])


def _check(account_id: int, row: ShiftRow) -> None:
    """The shift rules; raise on the first one broken."""
    if row.end <= row.start:
        raise Invalid("The shift must end after it starts", field="end")
    if row.end - row.start > MAX_SHIFT:
        raise Invalid("A shift can be at most 24 hours long", field="end")
    if row.break_minutes * 60 >= (row.end - row.start).total_seconds():
        raise Invalid("The break must be shorter than the shift", field="break_minutes")
    if row.worker_id is None or row.status == "cancelled":
        return
    worker = row.worker
    if not worker.active:
        raise Conflict(f"Worker {worker.id} is inactive and cannot be scheduled",
                       code="worker_inactive")
    lock_for_update(WorkerRow, worker.id)
    overlapping = (
        ShiftRow.select(ShiftRow.id)
        .where(
            (ShiftRow.account == account_id)
            & (ShiftRow.worker == worker.id)
            & (ShiftRow.status != "cancelled")
            & (ShiftRow.start < row.end)
            & (ShiftRow.end > row.start)
        )
    )
    if row.id is not None:
        overlapping = overlapping.where(ShiftRow.id != row.id)
    clash = overlapping.first()
    if clash is not None:
        raise Conflict(
            f"Worker {worker.id} already has shift {clash.id} overlapping this time",
            code="shift_overlap",
            shift_id=clash.id,
        )


def _save(account_id: int, row: ShiftRow, event: str, *,
          rearmed: tuple[str, ...] = ()) -> Shift:
    try:
        with transaction():
            _check(account_id, row)
            if rearmed:
                (AlertRow.delete()
                 .where((AlertRow.shift == row.id) & AlertRow.kind.in_(rearmed))
                 .execute())
            if row.status != "cancelled":
                row.status = "open" if row.worker_id is None else "scheduled"
            row.work_date = local_date(row.start, zone(row.location.timezone))
            row.updated_at = utcnow()
            row.save()
            record = get_shift(account_id, row.id)
            emit(account_id, event, record)
    except IntegrityError as error:
        if "shift_no_overlap_per_worker" not in str(error):
            raise
        # PostgreSQL's exclusion constraint (migration 0006) held where the check above
        # did not see the clash.
        raise Conflict(f"Worker {row.worker_id} already has a shift overlapping this time",
                       code="shift_overlap") from None
    return record


def create_shift(account_id: int, data: ShiftCreate) -> Shift:
    """Schedule a shift (open when no worker is given). Fires `shift_created`."""
    fields = msgspec.structs.asdict(data)
    row = ShiftRow(account=account_id)
    require(fields["location_id"], "location_id")
    require(fields["start"], "start")
    require(fields["end"], "end")
    _apply(account_id, row, fields)
    return _save(account_id, row, "shift_created")


def update_shift(account_id: int, shift_id: int, data: ShiftUpdate) -> Shift:
    """Change a shift under the same rules as creating one. Fires `shift_updated`.

    A shift given a new start, site or worker is a new expectation: its `shift_late` and
    `shift_missed` may fire again (`lateness`); a new end re-arms `shift_missed` alone.
    """
    row = fetch(ShiftRow, account_id, shift_id, "Shift")
    before = (row.start, row.location_id, row.worker_id, row.end)
    _apply(account_id, row, set_fields(data))
    after = (row.start, row.location_id, row.worker_id, row.end)
    rearmed = (("late", "missed") if before[:3] != after[:3]
               else ("missed",) if before[3] != after[3] else ())
    return _save(account_id, row, "shift_updated", rearmed=rearmed)


def cancel_shift(account_id: int, shift_id: int) -> Shift:
    """Cancel a shift; it stays listed with status `cancelled` and frees the worker's time."""
    row = fetch(ShiftRow, account_id, shift_id, "Shift")
    row.status = "cancelled"
    return _save(account_id, row, "shift_updated")
