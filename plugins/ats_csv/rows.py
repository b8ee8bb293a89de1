"""One row of an ATS export → the worker fields `context.upsert_workers` takes.

Each column kind has its own small reader (names, contact details, site,
department, assignment dates, status, language); a value that cannot be used
raises ValueError with the reason the run reports for that row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from tempclock.plugins import ConnectorContext

from .columns import REQUIRED

LANGUAGES = {"en": "en", "english": "en", "pl": "pl", "polish": "pl", "polski": "pl",
             "ro": "ro", "romanian": "ro", "română": "ro", "lt": "lt", "lithuanian": "lt",
             "lietuvių": "lt"}
ACTIVE = {"1", "yes", "y", "true", "active", "placed", "working", "current"}
INACTIVE = {"0", "no", "n", "false", "inactive", "left", "finished", "ended", "archived"}
TEXT_FIELDS = ("email", "phone", "role")
DATE_FIELDS = ("assignment_starts_on", "assignment_ends_on")
# Blanks and invisible characters (zero-width space, byte-order mark...) around a cell.
_EDGES = "".join(char for char in map(chr, range(0x3001)) if char.isspace()) + \
    "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"


MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
     ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
     ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
     ("dec", "december")), start=1) for name in names}
# A time of day after the date, as Excel writes a date cell formatted with one.
_TIME_OF_DAY = re.compile(r"[ T]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?( ?[ap]\.?m\.?)?$", re.IGNORECASE)


def parse_date(text: str, order: str) -> dt.date:
    """A date written as YYYY-MM-DD, YYYY/MM/DD, with its month's English name
    (`4-Mar-2026`, `4 March 26`, `Mar 4, 2026`), or in `order` ("DD/MM/YYYY" or "MM/DD/YYYY", any
    separator); a time of day after it (`04/03/2026 00:00`) is passed over."""
    text = text.strip()
    day = _TIME_OF_DAY.sub("", text)
    try:
        return dt.date.fromisoformat(day)
    except ValueError:
        pass
    parts = [part for part in re.split(r"[./\- ,]+", day) if part]
    if len(parts) == 3:
        try:
            return _date_of(parts, order)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD or {order})")


def _date_of(parts: list[str], order: str) -> dt.date:
    """The date three parts name; ValueError when they name none."""
    first, second, third = parts
    if second.casefold() in MONTHS and first.isdigit() and third.isdigit():
        day, month, year = int(first), MONTHS[second.casefold()], int(third)
    elif first.casefold() in MONTHS and second.isdigit() and third.isdigit():
        month, day, year = MONTHS[first.casefold()], int(second), int(third)
    elif not all(part.isdigit() for part in parts):
        raise ValueError(parts)
    elif len(first) == 4:
        year, month, day = int(first), int(second), int(third)
    else:
        a, b, year = int(first), int(second), int(third)
        day, month = (b, a) if order == "MM/DD/YYYY" else (a, b)
    return dt.date(year + 2000 if year < 100 else year, month, day)


def name_key(name: str) -> str:
    """A site or department name as a person reads it: any case, blanks run together."""
    return " ".join(name.split()).casefold()


class RowReader:
    """Reads rows against one account's sites and departments (one reader per run)."""

    def __init__(self, context: ConnectorContext, columns: Mapping[str, int]) -> None:
        self.context = context
        self.columns = columns
        self.date_order = context.settings["date_format"]
        self.create_departments = context.settings["create_departments"]
        sites = context.locations()
        self.locations = {name_key(site["name"]): site["id"] for site in sites}
        self.location_ids = {site["id"] for site in sites}
        self.departments = {name_key(dept["name"]): dept["id"]
                            for dept in context.departments()}

    def cell(self, cells: list[str], field: str) -> str:
        """The value of `field` in a row without blanks or invisible characters around it
        ("" when the column is absent or short)."""
        index = self.columns.get(field)
        return cells[index].strip(_EDGES) if index is not None and index < len(cells) else ""

    def worker_fields(self, cells: list[str]) -> dict[str, Any]:
        """The fields of the worker a row describes; only the file's columns are set."""
        fields = self._names(cells)
        for field in TEXT_FIELDS:
            if field in self.columns:
                fields[field] = self.cell(cells, field) or None
        if "location" in self.columns:
            fields["location_id"] = self._location(self.cell(cells, "location"))
        if "department" in self.columns:
            fields["department_id"] = self._department(self.cell(cells, "department"))
        for field in DATE_FIELDS:
            if field in self.columns:
                value = self.cell(cells, field)
                fields[field] = parse_date(value, self.date_order) if value else None
        if self.cell(cells, "active"):
            fields["active"] = self._active(self.cell(cells, "active"))
        if self.cell(cells, "preferred_language"):
            fields["preferred_language"] = self._language(self.cell(cells, "preferred_language"))
        return fields

    def _names(self, cells: list[str]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for field in REQUIRED:
            value = self.cell(cells, field)
            if not value:
                raise ValueError(f"{field.replace('_', ' ')} is empty")
            fields[field] = value
        return fields

    def _location(self, value: str) -> int | None:
        if not value:
            return None
        if value.isdigit() and int(value) in self.location_ids:
            return int(value)
        if name_key(value) in self.locations:
            return self.locations[name_key(value)]
        raise ValueError(f"unknown location {value!r}")

    def _department(self, name: str) -> int | None:
        if not name:
            return None
        key = name_key(name)
        if key not in self.departments:
            if not self.create_departments:
                raise ValueError(f"unknown department {name!r}")
            self.departments[key] = self.context.ensure_department(" ".join(name.split()))["id"]
        return self.departments[key]

    @staticmethod
    def _active(value: str) -> bool:
        if value.casefold() not in ACTIVE | INACTIVE:
            raise ValueError(f"status {value!r} is neither active nor inactive")
        return value.casefold() in ACTIVE

    @staticmethod
    def _language(value: str) -> str:
        # "en-GB", "pl_PL", "English (UK)": the language before its region
        language = re.split(r"[-_ (]", value.casefold(), maxsplit=1)[0]
        if language not in LANGUAGES:
            raise ValueError(f"language {value!r} is not one of "
                             "English, Polish, Romanian, Lithuanian")
        return LANGUAGES[language]
