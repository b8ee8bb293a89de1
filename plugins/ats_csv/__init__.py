"""ATS import (CSV): workers and their assignments from an applicant-tracking-system export.

Upserts by employee reference. Columns are matched by name (common ATS headers
are recognised: "Candidate ID", "Forename", "Site"...) or by an explicit mapping.
Every bad row is reported with its line number and reason; the good rows are
imported. A dry run reports what would change and writes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins import Connector, ConnectorContext, Setting, hookimpl

__version__ = "1.0.0"

FIELDS: dict[str, tuple[str, ...]] = {
    "employee_ref": ("employee ref", "employee reference", "employee id", "employee number",
                     "candidate id", "candidate ref", "worker id", "payroll number", "ref"),
    "first_name": ("first name", "forename", "given name", "firstname"),
    "last_name": ("last name", "surname", "family name", "lastname"),
    "email": ("email", "email address", "e-mail"),
    "phone": ("phone", "mobile", "phone number", "mobile number", "telephone"),
    "role": ("role", "job title", "position"),
    "location": ("location", "site", "client site", "placement site", "work location",
                 "location id"),
    "department": ("department", "dept", "division"),
    "assignment_starts_on": ("assignment start", "start date", "placement start", "starts on"),
    "assignment_ends_on": ("assignment end", "end date", "placement end", "ends on"),
    "active": ("active", "status"),
    "preferred_language": ("language", "preferred language"),
}
REQUIRED = ("employee_ref", "first_name", "last_name")
LANGUAGES = {"en": "en", "english": "en", "pl": "pl", "polish": "pl", "polski": "pl",
             "ro": "ro", "romanian": "ro", "română": "ro", "lt": "lt", "lithuanian": "lt",
             "lietuvių": "lt"}
ACTIVE = {"1", "yes", "y", "true", "active", "placed", "working", "current"}
INACTIVE = {"0", "no", "n", "false", "inactive", "left", "finished", "ended", "archived"}
REPORT_CHANGES = 50  # changes listed in the run log (all are counted)
BATCH = 500  # rows written together


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", header.casefold()).strip()


def parse_mapping(text: str) -> dict[str, str]:
    """`"employee_ref=Candidate ID; first_name=Forename"` → {field: column header}."""
    mapping: dict[str, str] = {}
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        field, sep, column = part.partition("=")
        field = field.strip()
        if not sep or field not in FIELDS or not column.strip():
            raise ValueError(f"Bad column mapping {part.strip()!r}: write field=Column Header, "
                             f"fields are {', '.join(FIELDS)}")
        mapping[field] = column.strip()
    return mapping


def match_columns(headers: list[str], explicit: Mapping[str, str]) -> dict[str, int]:
    """{field: column index}, from the explicit mapping first, then by known header names."""
    by_key = {_key(h): i for i, h in enumerate(headers)}
    found: dict[str, int] = {}
    for field, column in explicit.items():
        if _key(column) not in by_key:
            raise ValueError(f"The mapping names column {column!r}, which the file does not have "
                             f"(its columns: {', '.join(headers)})")
        found[field] = by_key[_key(column)]
    for field, aliases in FIELDS.items():
        if field in found:
            continue
        for name in (field.replace("_", " "), *aliases):
            if name in by_key:
                found[field] = by_key[name]
                break
    missing = [f for f in REQUIRED if f not in found]
    if missing:
        raise ValueError(f"The file has no column for {', '.join(missing)} "
                         f"(its columns: {', '.join(headers)}); add a column mapping")
    return found


def parse_date(text: str, order: str) -> dt.date:
    text = text.strip()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    parts = re.split(r"[./-]", text)
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        a, b, c = (int(p) for p in parts)
        day, month = (b, a) if order == "MM/DD/YYYY" else (a, b)
        if c < 100:
            c += 2000
        try:
            return dt.date(c, month, day)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or {order})")


def read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (line number, cells) of every non-empty row; any common delimiter."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # Excel on Windows
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = next(reader)
    except StopIteration:
        raise ValueError(f"{path.name} is empty") from None
    rows = []
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append((reader.line_num, cells))
    return headers, rows


class AtsCsvImport(Connector):
    id = "ats-csv"
    name = "ATS import (CSV)"
    kind = "ats"
    version = __version__
    description = ("Imports workers and their assignments from a CSV export of your ATS, "
                   "matching existing workers by employee reference.")
    capabilities = frozenset({"import_workers"})
    settings = (
        Setting("file", "CSV file", type="path", required=True,
                help="The export from your ATS (UTF-8 or Excel CSV; comma, semicolon or tab)."),
        Setting("mapping", "Column mapping", type="text", default="",
                help="Only if the headers are unusual: field=Column Header; ... "
                     "Fields: " + ", ".join(FIELDS)),
        Setting("date_format", "Dates written as", type="choice", default="DD/MM/YYYY",
                choices=("DD/MM/YYYY", "MM/DD/YYYY"),
                help="For dates that are not YYYY-MM-DD."),
        Setting("create_departments", "Create missing departments", type="boolean",
                default=True),
        Setting("deactivate_missing", "Deactivate workers missing from the file",
                type="boolean", default=False,
                help="For a full export: anyone with an employee reference who is not in "
                     "the file is set inactive."),
    )

    def run(self, context: ConnectorContext) -> None:
        settings = context.settings
        path = Path(settings["file"]).expanduser()
        if not path.is_file():
            raise ValueError(f"No such file: {path}")
        headers, rows = read_rows(path)
        columns = match_columns(headers, parse_mapping(settings.get("mapping") or ""))
        locations = {loc["name"].casefold(): loc["id"] for loc in context.locations()}
        location_ids = set(locations.values())
        departments = {d["name"].casefold(): d["id"] for d in context.departments()}
        seen: dict[str, int] = {}
        batch: list[tuple[int, dict[str, Any]]] = []
        reported = [0]
        context.log(f"{len(rows)} rows in {path.name}; columns: "
                    + ", ".join(f"{f}←{headers[i]!r}" for f, i in columns.items()))
        for done, (line, cells) in enumerate(rows, start=1):
            try:
                fields = self._fields(cells, columns, settings, locations, location_ids,
                                      departments, context)
                ref = fields["employee_ref"]
                if ref in seen:
                    raise ValueError(f"employee reference {ref!r} already appears on line "
                                     f"{seen[ref]}")
                seen[ref] = line
                batch.append((line, fields))
            except ValueError as error:
                context.row_error(line, str(error))
            if len(batch) >= BATCH or done == len(rows):
                context.check_cancelled()
                self._write(context, batch, reported)
                batch = []
                context.progress(done, len(rows), f"line {line}")
        context.count("rows", len(rows))
        if settings.get("deactivate_missing"):
            self._deactivate_missing(context, seen)
        context.progress(len(rows), len(rows), "done")

    def _fields(self, cells: list[str], columns: dict[str, int], settings: Mapping[str, Any],
                locations: dict[str, int], location_ids: set[int], departments: dict[str, int],
                context: ConnectorContext) -> dict[str, Any]:
        def cell(field: str) -> str:
            index = columns.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        fields: dict[str, Any] = {}
        for field in REQUIRED:
            value = cell(field)
            if not value:
                raise ValueError(f"{field.replace('_', ' ')} is empty")
            fields[field] = value
        for field in ("email", "phone", "role"):
            if field in columns:
                fields[field] = cell(field) or None
        if "location" in columns:
            fields["location_id"] = self._location(cell("location"), locations, location_ids)
        if "department" in columns:
            name = cell("department")
            if not name:
                fields["department_id"] = None
            elif name.casefold() in departments:
                fields["department_id"] = departments[name.casefold()]
            elif settings.get("create_departments"):
                created = context.ensure_department(name)
                departments[name.casefold()] = created["id"]
                fields["department_id"] = created["id"]
            else:
                raise ValueError(f"unknown department {name!r}")
        for field in ("assignment_starts_on", "assignment_ends_on"):
            if field in columns:
                value = cell(field)
                fields[field] = parse_date(value, settings["date_format"]) if value else None
        if "active" in columns and cell("active"):
            value = cell("active").casefold()
            if value not in ACTIVE | INACTIVE:
                raise ValueError(f"status {cell('active')!r} is neither active nor inactive")
            fields["active"] = value in ACTIVE
        if "preferred_language" in columns and cell("preferred_language"):
            value = cell("preferred_language").casefold()
            if value not in LANGUAGES:
                raise ValueError(f"language {cell('preferred_language')!r} is not one of "
                                 "English, Polish, Romanian, Lithuanian")
            fields["preferred_language"] = LANGUAGES[value]
        return fields

    @staticmethod
    def _write(context: ConnectorContext, batch: list[tuple[int, dict[str, Any]]],
               reported: list[int]) -> None:
        results = context.upsert_workers([fields for _, fields in batch])
        for (line, fields), (outcome, error) in zip(batch, results, strict=True):
            if error is not None:
                context.row_error(line, error)
                continue
            context.count(outcome)
            if outcome != "unchanged" and reported[0] < REPORT_CHANGES:
                reported[0] += 1
                verb = "would be " if context.dry_run else ""
                context.log(f"line {line}: {fields['employee_ref']} {fields['first_name']} "
                            f"{fields['last_name']} {verb}{outcome}")

    @staticmethod
    def _location(value: str, locations: dict[str, int], location_ids: set[int]) -> int | None:
        if not value:
            return None
        if value.isdigit() and int(value) in location_ids:
            return int(value)
        if value.casefold() in locations:
            return locations[value.casefold()]
        raise ValueError(f"unknown location {value!r}")

    @staticmethod
    def _deactivate_missing(context: ConnectorContext, present: dict[str, int]) -> None:
        for worker in context.workers(active=True):
            ref = worker.get("employee_ref")
            if ref and ref not in present:
                context.upsert_worker({"employee_ref": ref, "active": False})
                context.count("deactivated")


@hookimpl
def register_connectors(register):
    register(AtsCsvImport())
