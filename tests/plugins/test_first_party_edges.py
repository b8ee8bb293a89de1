"""Edges of the first-party connectors and of the plugin authors' kit, as a plugin's own tests
meet them: rows an ATS export gets wrong, a pay period half given, a CRM mapping by event id,
and the harness's own conveniences and refusals."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from tempclock.plugins import Connector, hookimpl
from tempclock.plugins.ats_csv import AtsCsvImport
from tempclock.plugins.crm_push import CrmPush
from tempclock.plugins.csvsafe import safe_cell
from tempclock.plugins.payroll_csv import PayrollCsvExport, pay_period
from tempclock.plugins.testing import PluginFailed

ATS = AtsCsvImport()


def write(tmp_path, text: str) -> str:
    path = tmp_path / "export.csv"
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return str(path)


def test_ats_rows_with_values_nobody_can_place_are_reported_by_line(tempclock, tmp_path):
    site = tempclock.add_location("Leeds DC")
    path = write(tmp_path, f"""
        Employee Ref,First Name,Last Name,Site,Department,Start Date,Status,Language
        E1,Ann,Nowak,{site['id']},,1 Mar 2026,active,en-GB
        E2,Bob,Smith,999999,,,active,
        E3,Cat,Jones,,Night Shift,,active,
        E4,Dan,Brown,,,March 2026,active,
        E5,Eve,Green,,,1st March 2026,active,
        E6,Fay,White,,,,on leave,
        E7,Gus,Black,,,,active,German
        ,Hal,Grey,,,,active,
    """)
    result = tempclock.run(ATS, {"file": path, "create_departments": False})
    assert result.status == "succeeded"
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "unknown location '999999'"),
        (4, "unknown department 'Night Shift'"),
        (5, "'March 2026' is not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
        (6, "'1st March 2026' is not a date (use YYYY-MM-DD or DD/MM/YYYY)"),
        (7, "status 'on leave' is neither active nor inactive"),
        (8, "language 'German' is not one of English, Polish, Romanian, Lithuanian"),
        (9, "employee ref is empty"),
    ]
    (ann,) = tempclock.workers()  # the site named by its id, the date with its month's name
    assert (ann["employee_ref"], ann["location_id"]) == ("E1", site["id"])


def test_an_ats_column_mapping_that_names_no_column_fails_the_run_saying_how_to_write_it(
        tempclock, tmp_path):
    path = write(tmp_path, "Ref,Given,Family\nE1,Ann,Nowak\n")
    result = tempclock.run(ATS, {"file": path, "mapping": "employee_ref=Ref; first_name"})
    assert result.status == "failed"
    assert result.message.startswith("Bad column mapping 'first_name': write field=Column Header")
    assert tempclock.workers() == []


def test_a_file_too_large_to_be_an_ats_export_is_refused_unread(tempclock, tmp_path):
    huge = tmp_path / "backup.csv"
    with huge.open("wb") as sparse:  # 300 MB on paper, nothing on disk
        sparse.truncate(300 * 1024 * 1024)
    result = tempclock.run(ATS, {"file": str(huge)})
    assert result.status == "failed"
    assert result.message.endswith("is larger than 256 MB: not an ATS export")


def test_deactivating_many_missing_workers_names_the_first_hundred_and_counts_the_rest(
        tempclock, tmp_path):
    context = tempclock.context()
    context.upsert_workers([{"employee_ref": f"OLD{n:03d}", "first_name": "Old",
                             "last_name": f"Hand {n}"} for n in range(105)])
    context.commit()  # as the host does at the end of a run
    path = write(tmp_path, "employee_ref,first_name,last_name\nNEW1,Ann,Nowak\n")
    result = tempclock.run(ATS, {"file": path, "deactivate_missing": True})
    assert result.counts["deactivated"] == 105
    named = [line for line in result.log if line.endswith("deactivated (not in the file)")]
    assert len(named) == 100
    assert "info: ... and 5 more deactivated" in result.log
    assert [w["employee_ref"] for w in tempclock.workers() if w["active"]] == ["NEW1"]


def test_a_cell_of_only_blank_and_invisible_characters_is_written_as_it_is():
    for text in (" ", "\u200b", " \u00a0\u200b"):
        assert safe_cell(text) == text


def test_an_unknown_pay_period_is_refused_by_name():
    with pytest.raises(ValueError, match="Unknown period 'fortnightly'"):
        pay_period("fortnightly", dt.date(2026, 3, 4))


@pytest.mark.parametrize(("dates", "reason"), [
    ({"date_from": "2026-03-02"}, "A custom period needs both a first and a last day"),
    ({"date_from": "2026-03-15", "date_to": "2026-03-02"},
     "The period's last day is before its first day"),
])
def test_a_custom_pay_period_given_by_half_or_backwards_fails_saying_why(tempclock, tmp_path,
                                                                         dates, reason):
    result = tempclock.run(PayrollCsvExport(), {"period": "custom", **dates,
                                                "output_dir": str(tmp_path / "out")})
    assert (result.status, result.message) == ("failed", reason)
    assert not (tmp_path / "out").exists()


def test_a_crm_mapping_can_send_the_event_id_and_type(tempclock):
    crm = CrmPush()
    tempclock.enable(crm, {"url": "https://crm.example.com/in", "events": "clock_in",
                           "mapping": "eventId=event_id; kind=event; who=worker_name"})
    tempclock.clock_in(tempclock.add_worker("Ann", "Nowak", location=tempclock.add_location()))
    tempclock.dispatch()
    (sent,) = tempclock.deliveries()
    assert sent["payload"] == {"eventId": sent["event_id"], "kind": "clock_in",
                               "who": "Ann Nowak"}


def test_a_crm_mapping_without_a_source_is_reported_when_an_event_comes(tempclock):
    crm = CrmPush()
    tempclock.enable(crm, {"url": "https://crm.example.com/in", "events": "clock_in",
                           "mapping": "externalId"})
    tempclock.clock_in(tempclock.add_worker(location=tempclock.add_location()))
    with pytest.raises(PluginFailed, match="Bad field mapping 'externalId': write crm_field="):
        tempclock.dispatch()
    assert tempclock.deliveries() == []
    assert [p.stage for p in tempclock.problems] == ["receive_event"]


def test_the_kit_loads_the_installed_connectors_and_finds_them_by_id(tempclock):
    tempclock.load_installed()
    assert isinstance(tempclock.connector("payroll-csv"), PayrollCsvExport)
    with pytest.raises(PluginFailed, match="No connector 'no-such-ats'"):
        tempclock.connector("no-such-ats")


def test_the_kit_refuses_a_second_connector_object_of_another_class_under_one_id(tempclock):
    class Impostor(Connector):
        id = "payroll-csv"

    tempclock.connector(PayrollCsvExport())
    with pytest.raises(PluginFailed, match="another connector with id 'payroll-csv' is loaded"):
        tempclock.connector(Impostor())


def test_a_kit_entry_given_by_worker_id_is_at_the_workers_own_site_unless_another_is_named(
        tempclock):
    site, depot = tempclock.add_location("Leeds DC"), tempclock.add_location("York Depot")
    ann = tempclock.add_worker(location=site)
    start = dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)
    entry = tempclock.add_entry(ann["id"], start, start + dt.timedelta(hours=8))
    assert (entry["location_id"], entry["worker_id"]) == (site["id"], ann["id"])
    elsewhere = tempclock.add_entry(ann, start + dt.timedelta(days=1),
                                    start + dt.timedelta(days=1, hours=8), location=depot)
    assert elsewhere["location_id"] == depot["id"]


def test_the_kit_dispatches_again_and_again_with_one_dispatcher(tempclock):
    heard = []

    class Listener:
        @hookimpl
        def clock_in(self, event, context):
            heard.append(event.data["worker_id"])

    tempclock.use(Listener(), "listener")
    site = tempclock.add_location()
    ann, bob = tempclock.add_worker("Ann", location=site), tempclock.add_worker("Bob",
                                                                                location=site)
    tempclock.clock_in(ann)
    assert tempclock.dispatch() >= 1
    tempclock.clock_in(bob)
    assert tempclock.dispatch() >= 1
    assert heard == [ann["id"], bob["id"]]
    assert tempclock.problems == []
