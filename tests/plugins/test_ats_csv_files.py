"""ATS import of the files agencies really have: Excel's encodings and dialects, odd headers,
and full exports that must never deactivate someone who is in the file."""

from __future__ import annotations

import re

import pytest

from tempclock.api.services import connectors, workers
from tempclock.plugins.ats_csv import AtsCsvImport
from tempclock.plugins.ats_csv.columns import FIELDS, match_columns

ATS = AtsCsvImport()


def export(tmp_path, data: bytes, name: str = "export.csv") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def run(account, path, dry_run=False, **settings):
    return connectors.run_connector(account.id, ATS, overrides={"file": path, **settings},
                                    dry_run=dry_run)


def everyone(account):
    return {w.employee_ref: w for w in workers.list_workers(
        account.id, workers.WorkerFilter(limit=100)).data}


def names(account):
    return {ref: (w.first_name, w.last_name) for ref, w in everyone(account).items()}


# --- encodings -----------------------------------------------------------------------

GOOD_UTF8 = "Employee Ref,First Name,Last Name\nE1,Zoë,Brontë\nE2,José,Muñoz\nE3,Ann,Nowak\n"


def test_one_windows_byte_in_a_utf8_export_is_reported_and_never_rewrites_other_names(
        account, tmp_path):
    run(account, export(tmp_path, GOOD_UTF8.encode(), "first.csv"))
    hand_edited = (GOOD_UTF8.encode()
                   + "E4,Renée,Dubois\n".encode("cp1252")
                   + "E5,Łucja,Wąs\n".encode())
    result = run(account, export(tmp_path, hand_edited, "second.csv"))
    assert result.status == "succeeded"
    assert [(e.line, e.reason) for e in result.errors] == [
        (5, "not valid UTF-8 (a character saved in another encoding?): row not imported")]
    assert names(account) == {"E1": ("Zoë", "Brontë"), "E2": ("José", "Muñoz"),
                              "E3": ("Ann", "Nowak"), "E5": ("Łucja", "Wąs")}
    assert result.counts == {"unchanged": 3, "created": 1, "errors": 1, "rows": 5}
    assert any("encoding: UTF-8" in line for line in result.log)


def test_a_stray_byte_in_a_bom_marked_utf8_file_is_reported_by_its_line(account, tmp_path):
    data = ("\ufeff" + GOOD_UTF8).encode() + b"E4,Ren\xe9e,Dubois\r\n"
    result = run(account, export(tmp_path, data))
    assert [e.line for e in result.errors] == [5]
    assert names(account)["E1"] == ("Zoë", "Brontë")
    assert "E4" not in names(account)


def test_a_whole_file_in_windows_1252_is_read_as_such_and_the_log_says_so(account, tmp_path):
    result = run(account, export(tmp_path, GOOD_UTF8.encode("cp1252")))
    assert names(account)["E1"] == ("Zoë", "Brontë")
    assert any("encoding: Windows-1252" in line for line in result.log)


def test_a_bad_byte_inside_a_multiline_cell_reports_the_row_where_it_starts(account, tmp_path):
    data = ("Employee Ref;First Name;Last Name;Role\r\nE1;Zoë;Brontë;Picker\r\n".encode()
            + b'E2;Ann;Nowak;"Night\r\nshift caf\xe9"\r\nE3;Bob;Smith;Driver\r\n')
    result = run(account, export(tmp_path, data))
    assert [e.line for e in result.errors] == [3]
    assert set(names(account)) == {"E1", "E3"}


def test_a_header_that_is_not_valid_text_fails_the_run_in_words(account, tmp_path):
    data = "Employee Ref,Prénom,Last Name\nE1,Zoë,Brontë\n".encode()
    data = data.replace("Pr\u00e9nom".encode(), b"Pr\xe9nom")
    result = run(account, export(tmp_path, data))
    assert result.status == "failed"
    assert "header" in result.message and "UTF-8" in result.message


# --- dialects ------------------------------------------------------------------------

TABLE = [["Employee Ref", "First Name", "Last Name", "Role"],
         ["E1", "Zoë", "Brontë", "Picker"],
         ["E2", "Ann", "Nowak", "Driver"]]


def joined(delimiter: str, newline: str, rows=TABLE) -> str:
    return newline.join(delimiter.join(row) for row in rows) + newline


@pytest.mark.parametrize(("label", "data"), [
    ("semicolon, CRLF, blank last line", joined(";", "\r\n").encode() + b"\r\n"),
    ("tab, CRLF, blank last line", joined("\t", "\r\n").encode() + b"\r\n"),
    ("semicolon, CRLF, BOM", ("\ufeff" + joined(";", "\r\n")).encode()),
    ("Excel sep= line", ("sep=;\r\n" + joined(";", "\r\n")).encode()),
    ("Excel sep= line, quoted", ('"sep=;"\r\n' + joined(";", "\r\n")).encode()),
    ("Unicode Text: UTF-16 LE tab", ("\ufeff" + joined("\t", "\r\n")).encode("utf-16-le")),
    ("UTF-16 BE tab", ("\ufeff" + joined("\t", "\r\n")).encode("utf-16-be")),
    ("UTF-16 LE without a mark", joined("\t", "\r\n").encode("utf-16-le")),
    ("UTF-16 BE without a mark", joined(",", "\n").encode("utf-16-be")),
    ("UTF-32 LE with a mark", ("\ufeff" + joined(",", "\n")).encode("utf-32-le")),
    ("pipe, LF", joined("|", "\n").encode()),
    ("semicolon, cp1252, CRLF", joined(";", "\r\n").encode("cp1252")),
    ("semicolon, CR only", joined(";", "\r").encode()),
    ("comma, trailing blank lines", joined(",", "\n").encode() + b"\n\n,,,\n"),
])
def test_excel_dialects_and_encodings_are_read(account, tmp_path, label, data):
    result = run(account, export(tmp_path, data))
    assert result.status == "succeeded", result.message
    assert result.counts == {"created": 2, "rows": 2}, label
    assert everyone(account)["E1"].role == "Picker"
    assert names(account)["E1"] == ("Zoë", "Brontë")


def test_a_quoted_multiline_cell_in_a_semicolon_crlf_file_is_one_cell(account, tmp_path):
    data = (b'Employee Ref;First Name;Last Name;Notes;Role\r\n'
            b'E1;Ann;Nowak;"Nights only\r\nno Sundays";Picker\r\n'
            b'E2;Bob;"Smith; Jr";;Driver\r\n\r\n')
    result = run(account, export(tmp_path, data))
    assert result.counts == {"created": 2, "rows": 2}
    people = everyone(account)
    assert people["E1"].role == "Picker"
    assert people["E2"].last_name == "Smith; Jr"
    assert "line 4: E2 Bob Smith; Jr created" in "\n".join(result.log)


def test_the_delimiter_is_read_from_the_header_not_guessed_from_the_data(account, tmp_path):
    # Every data row has more commas than semicolons; the header decides.
    data = (b"Employee Ref;First Name;Last Name;Role\n"
            b"E1;Ann;Nowak;Picker, packer, loader\n"
            b"E2;Bob;Smith;Driver, forklift, van\n")
    result = run(account, export(tmp_path, data))
    assert result.counts == {"created": 2, "rows": 2}
    assert everyone(account)["E1"].role == "Picker, packer, loader"
    assert any("delimiter: semicolon" in line for line in result.log)


# --- headers -------------------------------------------------------------------------


def spellings(alias: str) -> set[str]:
    words = alias.split()
    return {alias, alias.upper(), alias.title(), " ".join(words).capitalize(),
            "_".join(words), "-".join(w.capitalize() for w in words), "".join(words),
            f"  {alias.title()} "}


@pytest.mark.parametrize(("field", "alias"), [
    (field, alias) for field, aliases in FIELDS.items() for alias in aliases])
def test_every_documented_header_maps_in_any_spelling(field, alias):
    for spelling in spellings(alias):
        headers = ["Notes", spelling]
        mapped = match_columns(headers, {}, required=())
        assert mapped.fields.get(field) == 1, (field, spelling)
        assert mapped.ignored == ["Notes"]


@pytest.mark.parametrize(("header", "field"), [
    ("E-mail", "email"), ("E-Mail Address", "email"), ("EMAIL_ADDRESS", "email"),
    ("Forename", "first_name"), ("Given Name(s)", "first_name"), ("first-name", "first_name"),
    ("Surname", "last_name"), ("LAST_NAME", "last_name"), ("Mobile", "phone"),
    ("Phone No", "phone"), ("Phone No.", "phone"), ("Mobile Number", "phone"),
    ("Employee No.", "employee_ref"), ("Candidate ID", "employee_ref"),
    ("Job Title", "role"), ("Site", "location"), ("Start Date", "assignment_starts_on"),
])
def test_headers_in_the_spellings_ats_exports_use_are_recognised(header, field):
    assert match_columns([header], {}, required=()).fields == {field: 0}


def test_an_e_mail_column_is_imported(account, tmp_path):
    data = b"Candidate ID,Forename,Surname,E-mail\nC1,Ann,Nowak,ann@example.com\n"
    run(account, export(tmp_path, data))
    assert everyone(account)["C1"].email == "ann@example.com"


def test_every_column_the_import_does_not_read_is_named_in_the_run_log(account, tmp_path):
    data = (b"Candidate ID,Title,Forename,Surname,Notes,Email,E-Mail Address\n"
            b"C1,Ms,Ann,Nowak,likes nights,ann@example.com,other@example.com\n")
    result = run(account, export(tmp_path, data))
    ignored = [line for line in result.log if "not imported" in line]
    assert len(ignored) == 1
    assert "'Title'" in ignored[0] and "'Notes'" in ignored[0]
    assert "'E-Mail Address'" in ignored[0]
    assert everyone(account)["C1"].email == "ann@example.com"


# --- deactivate_missing --------------------------------------------------------------

FULL = "employee_ref,first_name,last_name,site\n"


def test_a_worker_whose_row_is_rejected_is_not_deactivated_as_missing(account, site, tmp_path):
    run(account, export(tmp_path, (FULL + f"E1,Ann,Nowak,{site.name}\nE2,Bob,Smith,"
                                           f"{site.name}\nE3,Cat,Jones,\n").encode(), "a.csv"))
    later = FULL + f"E1,Ann,Nowak,{site.name}\nE2,Bob,Smith,Atlantis Depot\n"
    result = run(account, export(tmp_path, later.encode(), "b.csv"), deactivate_missing=True,
                 deactivate_despite_errors=True)
    assert [e.reason for e in result.errors] == ["unknown location 'Atlantis Depot'"]
    active = {ref: w.active for ref, w in everyone(account).items()}
    assert active == {"E1": True, "E2": True, "E3": False}
    assert result.counts["deactivated"] == 1


def test_a_file_with_row_errors_deactivates_nobody_unless_the_admin_says_so(account, tmp_path):
    run(account, export(tmp_path, (FULL + "E1,Ann,Nowak,\nE2,Bob,Smith,\n").encode(), "a.csv"))
    result = run(account, export(tmp_path, (FULL + "E1,,Nowak,\n").encode(), "b.csv"),
                 deactivate_missing=True)
    assert result.status == "succeeded"
    assert "deactivated" not in result.counts
    assert all(w.active for w in everyone(account).values())
    assert any("deactivation skipped" in line.lower() and "1 row" in line
               for line in result.log)
    assert any("Deactivation skipped" in item for item in result.needs_attention)


def test_a_row_that_cannot_be_decoded_still_counts_its_worker_as_present(account, tmp_path):
    run(account, export(tmp_path, (FULL + "E1,Zoë,Brontë,\nE2,Renée,Dubois,\n").encode(),
                        "a.csv"))
    later = (FULL + "E1,Zoë,Brontë,\n").encode() + "E2,Renée,Dubois,\n".encode("cp1252")
    result = run(account, export(tmp_path, later, "b.csv"), deactivate_missing=True,
                 deactivate_despite_errors=True)
    assert [e.line for e in result.errors] == [3]
    assert all(w.active for w in everyone(account).values())
    assert names(account)["E2"] == ("Renée", "Dubois")


def test_a_dry_run_names_who_would_be_deactivated_and_counts_them(account, tmp_path):
    run(account, export(tmp_path, (FULL + "E1,Ann,Nowak,\nE2,Bob,Smith,\nE3,Cat,Jones,\n"
                                   ).encode(), "a.csv"))
    result = run(account, export(tmp_path, (FULL + "E1,Ann,Nowak,\n").encode(), "b.csv"),
                 dry_run=True, deactivate_missing=True)
    assert result.counts["deactivated"] == 2
    would = [line for line in result.log if "would be deactivated" in line]
    assert len(would) == 2
    assert any("E2 Bob Smith" in line for line in would)
    assert any("E3 Cat Jones" in line for line in would)
    assert all(w.active for w in everyone(account).values())


def test_a_header_only_file_deactivates_nobody(account, tmp_path):
    run(account, export(tmp_path, (FULL + "E1,Ann,Nowak,\n").encode(), "a.csv"))
    result = run(account, export(tmp_path, FULL.encode(), "b.csv"), deactivate_missing=True)
    assert everyone(account)["E1"].active
    assert any(re.search("deactivation skipped", line, re.I) for line in result.log)


def test_a_failed_run_says_why_in_words_and_keeps_the_traceback_in_its_record(account, tmp_path):
    result = run(account, str(tmp_path / "absent.csv"))
    assert result.status == "failed"
    assert result.message == f"No such file: {tmp_path / 'absent.csv'}"
    assert "Traceback" in result.traceback and "ValueError" in result.traceback
    assert connectors.list_runs(account.id)[0].traceback == result.traceback


def test_a_file_marked_as_utf16_that_is_not_is_refused_in_words(account, tmp_path):
    data = ("\ufeff" + joined("\t", "\r\n")).encode("utf-16-le") + b"\x00"
    result = run(account, export(tmp_path, data))
    assert result.status == "failed"
    assert result.message.startswith("The file reads as UTF-16 LE but byte ")
    assert everyone(account) == {}


def test_the_run_log_names_the_encoding_and_its_byte_order_mark(account, tmp_path):
    result = run(account, export(tmp_path, ("\ufeff" + joined("\t", "\r\n")).encode("utf-16")))
    assert any("encoding: UTF-16 LE with byte-order mark; delimiter: tab" in line
               for line in result.log)
