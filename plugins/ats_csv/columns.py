"""Which column of an ATS export holds which worker field.

Headers are matched by name: every alias in `FIELDS` is recognised in any case and
with or without spaces, hyphens, underscores or punctuation ("E-Mail Address",
"email_address" and "EMAIL ADDRESS" are one header). An admin with unusual headers
writes an explicit mapping (`parse_mapping`). Columns nobody reads are named, so the
run log can say what was left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: Worker field → the headers ATS exports use for it, in order of preference.
FIELDS: dict[str, tuple[str, ...]] = {
    "employee_ref": ("employee ref", "employee reference", "employee id", "employee number",
                     "employee no", "candidate id", "candidate ref", "candidate reference",
                     "candidate number", "candidate no", "worker id", "worker ref",
                     "worker number", "staff id", "staff number", "staff no", "payroll number",
                     "payroll no", "payroll id", "personnel number", "ref", "reference"),
    "first_name": ("first name", "forename", "forenames", "given name", "given names",
                   "given name(s)", "christian name", "first names", "firstname"),
    "last_name": ("last name", "surname", "surnames", "family name", "last names", "lastname"),
    "email": ("email", "email address", "e-mail", "e-mail address", "mail", "mail address"),
    "phone": ("phone", "mobile", "phone number", "phone no", "mobile number", "mobile no",
              "mobile phone", "telephone", "telephone number", "tel", "tel no", "cell",
              "cell phone", "contact number"),
    "role": ("role", "job title", "job role", "job", "position"),
    "location": ("location", "site", "client site", "placement site", "work location",
                 "location id", "site name", "location name", "workplace"),
    "department": ("department", "dept", "division"),
    "assignment_starts_on": ("assignment start", "assignment start date", "start date",
                             "placement start", "placement start date", "starts on", "start"),
    "assignment_ends_on": ("assignment end", "assignment end date", "end date",
                           "placement end", "placement end date", "ends on", "end",
                           "finish date"),
    "active": ("active", "status", "worker status", "candidate status"),
    "preferred_language": ("language", "preferred language"),
}
REQUIRED = ("employee_ref", "first_name", "last_name")
LISTED_COLUMNS = 30  # columns named in a message about the file's headers


def header_key(header: str) -> str:
    """A header reduced to its letters and digits, case-folded: how headers are compared."""
    return "".join(ch for ch in header.casefold() if ch.isalnum())


_FIELD_OF_KEY: dict[str, str] = {
    header_key(name): field for field, aliases in FIELDS.items() for name in (field, *aliases)}


@dataclass(frozen=True)
class ColumnMatch:
    """The columns an import reads (`fields`: field → column index) and those it leaves out."""

    fields: dict[str, int]
    ignored: list[str]


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


def header_recogniser(mapping: Mapping[str, str]) -> Callable[[str], bool]:
    """A test of whether a header is one the import reads (an alias, or named in `mapping`)."""
    mapped = {header_key(column) for column in mapping.values()}
    return lambda header: header_key(header) in mapped or header_key(header) in _FIELD_OF_KEY


def match_columns(headers: list[str], mapping: Mapping[str, str],
                  required: tuple[str, ...] = REQUIRED) -> ColumnMatch:
    """Find each field's column: the explicit mapping first, then the known headers.

    Raises ValueError, naming the file's columns, when the mapping names a column
    the file lacks or a `required` field has no column.
    """
    first_index: dict[str, int] = {}
    for index, header in enumerate(headers):
        first_index.setdefault(header_key(header), index)
    fields = _mapped_columns(headers, first_index, mapping)
    taken = set(fields.values())
    for field, aliases in FIELDS.items():
        for name in (field, *aliases):
            index = first_index.get(header_key(name))
            if field not in fields and index is not None and index not in taken:
                fields[field] = index
                taken.add(index)
    missing = [field for field in required if field not in fields]
    if missing:
        raise ValueError(f"The file has no column for {', '.join(missing)} "
                         f"(its columns: {describe_headers(headers)}); add a column mapping")
    ignored = [header.strip() or f"column {index + 1} (no header)"
               for index, header in enumerate(headers) if index not in taken]
    return ColumnMatch(fields, ignored)


def _mapped_columns(headers: list[str], first_index: Mapping[str, int],
                    mapping: Mapping[str, str]) -> dict[str, int]:
    fields: dict[str, int] = {}
    for field, column in mapping.items():
        index = first_index.get(header_key(column))
        if index is None:
            raise ValueError(f"The mapping names column {column!r}, which the file does not "
                             f"have (its columns: {describe_headers(headers)})")
        fields[field] = index
    return fields


def describe_headers(headers: list[str]) -> str:
    """The headers for a message: quoted (control characters escaped), long lists cut short."""
    shown = ", ".join(repr(header[:60]) for header in headers[:LISTED_COLUMNS])
    more = len(headers) - LISTED_COLUMNS
    return shown + (f" and {more} more" if more > 0 else "")
