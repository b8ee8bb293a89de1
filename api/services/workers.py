"""Workers: the temps an agency places, with their assignment to a site."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec
from msgspec import UNSET, UnsetType
from peewee import JOIN

from tempclock.api.services.common import (
    ListParams,
    Page,
    check_choice,
    clean_text,
    emit,
    fetch,
    fetch_id,
    fetch_one,
    paginate,
    save_row,
    set_fields,
    transaction,
    utc,
    utcnow,
)
from tempclock.api.services.errors import Conflict, DomainError, Invalid, require
from tempclock.api.store.models import Department as DepartmentRow
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.prepared import Prepared, save

LANGUAGES = ("en", "pl", "ro", "lt")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_PHONE = re.compile(r"\+?[0-9 ()./-]{3,40}")


class Assignment(msgspec.Struct, kw_only=True):
    """Where the worker is placed, and for how long."""

    location_id: int
    location_name: str
    starts_on: dt.date | None
    ends_on: dt.date | None


class Worker(msgspec.Struct, kw_only=True):
    id: int
    first_name: str
    last_name: str
    employee_ref: str | None
    email: str | None
    phone: str | None
    role: str | None
    location_id: int | None
    location_name: str | None
    department_id: int | None
    department: str | None
    active: bool
    preferred_language: str
    assignment: Assignment | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class WorkerCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    first_name: str
    last_name: str
    employee_ref: str | None = None
    email: str | None = None
    phone: str | None = None
    role: str | None = None
    location_id: int | None = None
    department_id: int | None = None
    preferred_language: str = "en"
    active: bool = True
    assignment_starts_on: dt.date | None = None
    assignment_ends_on: dt.date | None = None


class WorkerUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    first_name: str | UnsetType = UNSET
    last_name: str | UnsetType = UNSET
    employee_ref: str | None | UnsetType = UNSET
    email: str | None | UnsetType = UNSET
    phone: str | None | UnsetType = UNSET
    role: str | None | UnsetType = UNSET
    location_id: int | None | UnsetType = UNSET
    department_id: int | None | UnsetType = UNSET
    preferred_language: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    assignment_starts_on: dt.date | None | UnsetType = UNSET
    assignment_ends_on: dt.date | None | UnsetType = UNSET


class WorkerFilter(ListParams, kw_only=True):
    location_id: int | None = None
    department_id: int | None = None
    active: bool | None = None
    search: str | None = None


def _query(account_id: int):
    return (
        WorkerRow.select(
            WorkerRow,
            LocationRow.name.alias("location_name"),
            DepartmentRow.name.alias("department_name"),
        )
        .join_from(WorkerRow, LocationRow, JOIN.LEFT_OUTER)
        .join_from(WorkerRow, DepartmentRow, JOIN.LEFT_OUTER)
        .where(WorkerRow.account == account_id)
        .objects()
    )


def _record(row: WorkerRow) -> Worker:
    assignment = None
    if row.location_id is not None:
        assignment = Assignment(
            location_id=row.location_id,
            location_name=row.location_name,
            starts_on=row.assignment_starts_on,
            ends_on=row.assignment_ends_on,
        )
    return Worker(
        id=row.id,
        first_name=row.first_name,
        last_name=row.last_name,
        employee_ref=row.employee_ref,
        email=row.email,
        phone=row.phone,
        role=row.role,
        location_id=row.location_id,
        location_name=row.location_name,
        department_id=row.department_id,
        department=row.department_name,
        active=row.active,
        preferred_language=row.preferred_language,
        assignment=assignment,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _columns(account_id: int, fields: dict[str, Any],
             known: set[tuple[type, int]] | None = None) -> dict[str, Any]:
    """Validated column values for the fields present in `fields`.

    `known` remembers the (model, id) references already checked, for bulk work.
    """
    columns: dict[str, Any] = {}
    for name in ("first_name", "last_name"):
        if name in fields:
            columns[name] = clean_text(fields[name], name, max_length=100, required=True)
    if "employee_ref" in fields:
        columns["employee_ref"] = clean_text(fields["employee_ref"], "employee_ref", max_length=50)
    if "email" in fields:
        email = clean_text(fields["email"], "email", max_length=254)
        if email is not None and not _EMAIL.fullmatch(email):
            raise Invalid(f"{email!r} is not a valid email address", field="email")
        columns["email"] = email
    if "phone" in fields:
        phone = clean_text(fields["phone"], "phone", max_length=40)
        if phone is not None and not _PHONE.fullmatch(phone):
            raise Invalid(f"{phone!r} is not a valid phone number", field="phone")
        columns["phone"] = phone
    if "role" in fields:
        columns["role"] = clean_text(fields["role"], "role", max_length=100)
    if "location_id" in fields:
        ident = fields["location_id"]
        columns["location"] = (
            None if ident is None else fetch_id(LocationRow, account_id, ident, "Location", known)
        )
    if "department_id" in fields:
        ident = fields["department_id"]
        columns["department"] = (
            None if ident is None
            else fetch_id(DepartmentRow, account_id, ident, "Department", known)
        )
    if "preferred_language" in fields:
        columns["preferred_language"] = check_choice(
            fields["preferred_language"], "preferred_language", LANGUAGES)
    if "active" in fields:
        columns["active"] = bool(fields["active"])
    for name in ("assignment_starts_on", "assignment_ends_on"):
        if name in fields:
            columns[name] = fields[name]
    return columns


def _check(row: WorkerRow) -> None:
    starts, ends = row.assignment_starts_on, row.assignment_ends_on
    if starts is not None and ends is not None and ends < starts:
        raise Invalid("The assignment must end on or after the day it starts",
                      field="assignment_ends_on")


def list_workers(account_id: int, params: WorkerFilter | None = None) -> Page[Worker]:
    """Workers of the account; `search` matches first name, last name or employee reference."""
    params = params or WorkerFilter()
    query = _query(account_id)
    if params.location_id is not None:
        query = query.where(WorkerRow.location == params.location_id)
    if params.department_id is not None:
        query = query.where(WorkerRow.department == params.department_id)
    if params.active is not None:
        query = query.where(WorkerRow.active == params.active)
    # Checked as text: a NUL (which PostgreSQL refuses outright) is a 400, not a 500.
    term = clean_text(params.search, "search", max_length=200)
    if term:
        query = query.where(
            WorkerRow.first_name.contains(term)
            | WorkerRow.last_name.contains(term)
            | WorkerRow.employee_ref.contains(term)
        )
    return paginate(query, WorkerRow, params, _record)


_one = Prepared(lambda p: _query(p.account).where(WorkerRow.id == p.id))


def get_worker(account_id: int, worker_id: int) -> Worker:
    """One worker of the account, or NotFound."""
    return _record(fetch_one(_one, "Worker", worker_id, account=account_id))


_by_ref = Prepared(lambda p: _query(p.account).where(WorkerRow.employee_ref == p.ref))


def find_worker_by_ref(account_id: int, employee_ref: str) -> Worker | None:
    """The worker with this employee reference, if any (connectors upsert by it)."""
    row = _by_ref.one(account=account_id, ref=employee_ref)
    return None if row is None else _record(row)


def _save(row: WorkerRow, event: str) -> Worker:
    _check(row)
    return save_row(
        row,
        event=event,
        to_record=lambda r: get_worker(r.account_id, r.id),
        duplicate=lambda: Conflict(
            f"Employee reference {row.employee_ref!r} is already used by another worker",
            code="duplicate_employee_ref",
        ),
    )


def create_worker(account_id: int, data: WorkerCreate) -> Worker:
    """Create a worker. Fires `worker_created`."""
    row = WorkerRow(account=account_id, **_columns(account_id, msgspec.structs.asdict(data)))
    return _save(row, "worker_created")


def update_worker(account_id: int, worker_id: int, data: WorkerUpdate) -> Worker:
    """Change the fields that are set in `data`. Fires `worker_updated`."""
    row = fetch(WorkerRow, account_id, worker_id, "Worker")
    for column, value in _columns(account_id, set_fields(data)).items():
        setattr(row, column, value)
    return _save(row, "worker_updated")


def deactivate_worker(account_id: int, worker_id: int) -> Worker:
    """Stop a worker clocking in or being scheduled; their history stays."""
    return update_worker(account_id, worker_id, WorkerUpdate(active=False))


class Upserted(NamedTuple):
    """What `upsert_workers` did with one item."""

    outcome: str  # created | updated | unchanged | error
    worker_id: int | None
    error: DomainError | None


IMPORT_BATCH = 500


def upsert_workers(account_id: int, items: Sequence[WorkerUpdate]) -> list[Upserted]:
    """Create or update many workers by `employee_ref`, in one transaction (imports use this).

    Each item writes only the fields it sets; a new worker needs first and last name.
    A bad item comes back as an `error` outcome with its domain error and the others
    go ahead. Fires `worker_created` / `worker_updated` for each change.

    Steps: clean the references → load the workers they name → plan each item's
    change → save the changes and emit their events.
    """
    results: list[Upserted | None] = [None] * len(items)
    with transaction():
        fields_of = [set_fields(item) for item in items]
        refs = _clean_refs(fields_of, results)
        existing = _workers_by_ref(account_id, [ref for ref in refs if ref])
        planned = _plan_upserts(account_id, fields_of, refs, existing, results)
        _save_planned(account_id, planned, results)
    return [result for result in results if result is not None]


def _clean_refs(fields_of: list[dict[str, Any]],
                results: list[Upserted | None]) -> list[str | None]:
    """Each item's employee reference, or None with its error recorded in `results`."""
    refs: list[str | None] = []
    for n, fields in enumerate(fields_of):
        try:
            refs.append(clean_text(fields.get("employee_ref"), "employee_ref",
                                   max_length=50, required=True))
        except DomainError as error:
            refs.append(None)
            results[n] = Upserted("error", None, error)
    return refs


def _workers_by_ref(account_id: int, refs: list[str]) -> dict[str, WorkerRow]:
    """The account's workers with these references, read in chunks of `IMPORT_BATCH`."""
    existing: dict[str, WorkerRow] = {}
    for start in range(0, len(refs), IMPORT_BATCH):
        chunk = refs[start:start + IMPORT_BATCH]
        for row in WorkerRow.select().where((WorkerRow.account == account_id)
                                            & WorkerRow.employee_ref.in_(chunk)):
            existing[row.employee_ref] = row
    return existing


def _plan_upserts(account_id: int, fields_of: list[dict[str, Any]], refs: list[str | None],
                  existing: dict[str, WorkerRow],
                  results: list[Upserted | None]) -> list[tuple[int, WorkerRow, str]]:
    """(item index, row, "created" | "updated") for each change; other outcomes go to results."""
    planned: list[tuple[int, WorkerRow, str]] = []
    known: set[tuple[type, int]] = set()
    seen: set[str] = set()
    for n, (fields, ref) in enumerate(zip(fields_of, refs, strict=True)):
        if results[n] is not None or ref is None:
            continue
        try:
            if ref in seen:
                raise Conflict(f"Employee reference {ref!r} appears twice in this import",
                               code="duplicate_employee_ref")
            seen.add(ref)
            columns = _columns(account_id, {**fields, "employee_ref": ref}, known)
            row, outcome = _apply_columns(account_id, existing.get(ref), columns)
        except DomainError as error:
            results[n] = Upserted("error", None, error)
            continue
        if outcome == "unchanged":
            results[n] = Upserted(outcome, row.id, None)
        else:
            planned.append((n, row, outcome))
    return planned


def _apply_columns(account_id: int, row: WorkerRow | None,
                   columns: dict[str, Any]) -> tuple[WorkerRow, str]:
    """A new row, or `row` with `columns` set, and whether it was created, updated or unchanged."""
    if row is None:
        for name in ("first_name", "last_name"):
            require(columns.get(name), name)
        row = WorkerRow(account=account_id, **columns)
        _check(row)
        return row, "created"
    changed = False
    for column, value in columns.items():
        attribute = f"{column}_id" if column in ("location", "department") else column
        if getattr(row, attribute) != value:
            setattr(row, column, value)
            changed = True
    _check(row)
    return row, "updated" if changed else "unchanged"


def _save_planned(account_id: int, planned: list[tuple[int, WorkerRow, str]],
                  results: list[Upserted | None]) -> None:
    """Save the planned rows, then emit one event per change with the worker as it now is."""
    now = utcnow()
    for n, row, outcome in planned:
        row.updated_at = now
        save(row)
        results[n] = Upserted(outcome, row.id, None)
    ids = [row.id for _, row, _ in planned]
    records: dict[int, Worker] = {}
    for start in range(0, len(ids), IMPORT_BATCH):
        for row in _query(account_id).where(WorkerRow.id.in_(ids[start:start + IMPORT_BATCH])):
            records[row.id] = _record(row)
    for _, row, outcome in planned:
        emit(account_id, f"worker_{outcome}", records[row.id])
