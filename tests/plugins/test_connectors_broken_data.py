"""Adversarial cases for imports and exports, through the real `tempclock` command.

Each test is a file or a setting an agency really has that once went wrong.
"""

from __future__ import annotations

import codecs
import json

import pytest
from test_cli_connectors import one_line_error, tc


def test_a_payroll_folder_that_is_a_file_is_one_plain_error_line(tmp_path):
    in_the_way = tmp_path / "payroll"
    in_the_way.write_text("not a folder")
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "payroll-csv", "--account", "1",
                "--set", f"output_dir={in_the_way}", ok=False)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith(f"Error: Cannot write {in_the_way}/payroll_")
    assert f"{in_the_way} is a file, not a folder" in line
    assert "Error:" not in line[1:] and "FileExistsError" not in line


def test_a_payroll_folder_that_cannot_be_created_is_one_plain_error_line(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "payroll-csv", "--account", "1",
                "--set", "output_dir=/proc/1/payroll", ok=False)
    assert result.returncode == 1
    line = one_line_error(result)
    assert line.startswith("Error: Cannot write /proc/1/payroll/payroll_")
    assert "Error]" not in line and "Errno" not in line


def import_file(data_dir, csv_file, *settings, ok=True):
    pairs = [arg for setting in settings for arg in ("--set", setting)]
    return tc(data_dir, "connectors", "run", "ats-csv", "--account", "1",
              "--set", f"file={csv_file}", *pairs, "--json", ok=ok)


@pytest.mark.parametrize("above", [
    "\r\n\r\nWeekly placements, ACME Staffing Ltd\r\n",
    "sep=;\r\nExported 03/12/2026;;\r\n\r\n",
    "Candidates\r\nRun by: J. Smith\r\n",
])
def test_a_title_or_notes_above_the_header_are_passed_over(tmp_path, above):
    delimiter = ";" if above.startswith("sep=") else ","
    lines = [["Candidate ID", "Forename", "Surname"], ["00123", "Zoë", "Ćwik"],
             ["1.23E+05", "Ann", "Nowak"]]
    csv_file = tmp_path / "placements.csv"
    csv_file.write_bytes(codecs.BOM_UTF8 + (above + "".join(
        delimiter.join(cells) + "\r\n" for cells in lines)).encode())
    tc(tmp_path, "accounts", "create", "Acme")
    run = json.loads(import_file(tmp_path, csv_file).stdout)
    assert run["status"] == "succeeded" and run["counts"]["created"] == 2
    log = "\n".join(run["log"])
    assert "the lines above it are not imported" in log
    assert ": 00123 Zoë Ćwik created" in log and ": 1.23E+05 Ann Nowak created" in log
