"""ATS import (CSV): upsert by employee reference, bad rows reported by line, dry runs.

Written on the `tempclock` fixture (`tempclock.plugins.testing`), as a third party's tests are."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from tempclock.plugins.ats_csv import AtsCsvImport, parse_date

ATS = AtsCsvImport()


def write(tmp_path, text: str, name: str = "export.csv"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return str(path)


def run(tempclock, path, dry_run=False, **settings):
    return tempclock.run(ATS, {"file": path, **settings}, dry_run=dry_run)


def everyone(tempclock):
    return {w["employee_ref"]: w for w in tempclock.workers()}


@pytest.fixture
def site(tempclock):
    return tempclock.add_location("Leeds DC")


def test_a_typical_ats_export_is_imported_with_sites_departments_and_assignments(
        tempclock, site, tmp_path):
    path = write(tmp_path, f"""
        Candidate ID,Forename,Surname,Email,Mobile,Job Title,Site,Department,Start Date,End Date,Status,Language
        C-100,Ann,Nowak,ann@example.com,+44 7700 900001,Picker,{site['name']},Warehouse,03/03/2026,,Active,Polish
        C-101,Bob,Smith,,,Driver,{site['name']},Drivers,2026-03-10,2026-06-30,placed,English
    """)
    result = run(tempclock, path)
    assert result.status == "succeeded"
    assert result.counts == {"created": 2, "rows": 2}
    people = everyone(tempclock)
    ann = people["C-100"]
    assert (ann["first_name"], ann["last_name"], ann["role"]) == ("Ann", "Nowak", "Picker")
    assert ann["location_id"] == site["id"] and ann["department"] == "Warehouse"
    # day first, as UK exports write it
    assert ann["assignment"]["starts_on"] == dt.date(2026, 3, 3)
    assert ann["preferred_language"] == "pl"
    assert people["C-101"]["assignment"]["ends_on"] == dt.date(2026, 6, 30)
    assert {d["name"] for d in tempclock.context().departments()} == {"Warehouse", "Drivers"}


def test_every_bad_row_is_reported_with_its_line_and_the_good_rows_are_imported(
        tempclock, site, tmp_path):
    path = write(tmp_path, f"""
        Employee Ref;First Name;Last Name;Email;Site
        E1;Ann;Nowak;ann@example.com;{site['name']}
        E2;;Smith;;{site['name']}
        E3;Cat;Jones;not-an-email;{site['name']}
        E4;Dan;Brown;;Atlantis Depot
        E1;Ann;Again;;{site['name']}
        E5;Eve;Green;;
    """)
    result = run(tempclock, path)
    assert result.status == "succeeded"
    assert result.counts["created"] == 2
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "first name is empty"),
        (4, "'not-an-email' is not a valid email address"),
        (5, "unknown location 'Atlantis Depot'"),
        (6, "employee reference 'E1' already appears on line 2"),
    ]
    assert set(everyone(tempclock)) == {"E1", "E5"}


def test_reimporting_updates_only_what_changed(tempclock, site, tmp_path):
    first = write(tmp_path, """
        employee_ref,first_name,last_name,role
        E1,Ann,Nowak,Picker
        E2,Bob,Smith,Driver
    """, "first.csv")
    run(tempclock, first)
    second = write(tmp_path, """
        employee_ref,first_name,last_name,role
        E1,Ann,Nowak,Team leader
        E2,Bob,Smith,Driver
        E3,Cat,Jones,Picker
    """, "second.csv")
    result = run(tempclock, second)
    assert result.counts == {"updated": 1, "unchanged": 1, "created": 1, "rows": 3}
    assert everyone(tempclock)["E1"]["role"] == "Team leader"


def test_a_dry_run_shows_what_would_change_and_writes_nothing(tempclock, tmp_path):
    path = write(tmp_path, """
        employee_ref,first_name,last_name,department
        E1,Ann,Nowak,Cleaning
        E2,Bob,Smith,Cleaning
    """)
    result = run(tempclock, path, dry_run=True)
    assert result.dry_run and result.counts["created"] == 2
    assert any("E1 Ann Nowak would be created" in line for line in result.log)
    assert everyone(tempclock) == {}
    assert tempclock.context().departments() == []


def test_a_column_mapping_reads_unusual_headers(tempclock, tmp_path):
    path = write(tmp_path, """
        Payroll No,Given,Family
        P-9,Ann,Nowak
    """)
    result = run(tempclock, path, mapping="employee_ref=Payroll No; first_name=Given; "
                                        "last_name=Family")
    assert result.counts["created"] == 1
    assert everyone(tempclock)["P-9"]["last_name"] == "Nowak"


def test_a_file_without_the_needed_columns_fails_the_run_in_words(tempclock, tmp_path):
    path = write(tmp_path, """
        Name,Phone
        Ann Nowak,123
    """)
    result = run(tempclock, path)
    assert result.status == "failed"
    assert "no column for employee_ref, first_name, last_name" in result.message


def test_workers_missing_from_a_full_export_can_be_deactivated(tempclock, tmp_path):
    run(tempclock, write(tmp_path, "employee_ref,first_name,last_name\nE1,A,B\nE2,C,D\n", "a.csv"))
    result = run(tempclock, write(tmp_path, "employee_ref,first_name,last_name\nE1,A,B\n", "b.csv"),
                 deactivate_missing=True)
    assert result.counts["deactivated"] == 1
    assert everyone(tempclock)["E2"]["active"] is False


def test_a_missing_file_setting_is_refused_before_running(tempclock):
    with pytest.raises(ValueError, match="CSV file is required"):
        tempclock.run(ATS)
    assert tempclock.runs() == []


def test_excel_style_csv_in_windows_encoding_is_read(tempclock, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("Employee Ref,First Name,Last Name\r\nE1,José,Muñoz\r\n".encode("cp1252"))
    run(tempclock, str(path))
    assert everyone(tempclock)["E1"]["first_name"] == "José"


@pytest.mark.parametrize(("text", "order", "expected"), [
    ("2026-03-04", "DD/MM/YYYY", dt.date(2026, 3, 4)),
    ("04/03/2026", "DD/MM/YYYY", dt.date(2026, 3, 4)),
    ("03/04/2026", "MM/DD/YYYY", dt.date(2026, 3, 4)),
    ("4.3.26", "DD/MM/YYYY", dt.date(2026, 3, 4)),
])
def test_dates_are_read_in_the_chosen_order(text, order, expected):
    assert parse_date(text, order) == expected
