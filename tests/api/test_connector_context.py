"""What a connector sees and does through its context, run the way the desktop and the CLI run
it (`connectors.run_connector`): reading every page of the account's records, rows it cannot
use reported as row errors with the rest written, cancellation, interruption, failures whose
message cannot even be read, and the settings of each declared type checked when saved."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from tempclock.api.services import connectors, cost_codes, departments, workers
from tempclock.api.services.errors import Invalid
from tempclock.api.store import database
from tempclock.plugins import Connector, Setting


def a_connector(run, **attributes) -> Connector:
    """A one-off import connector whose run is `run(context)`."""
    body = {"id": "probe", "name": "Probe", "kind": "ats",
            "capabilities": frozenset({"import_workers"}), "run": lambda self, ctx: run(ctx),
            **attributes}
    return type("Probe", (Connector,), body)()


def test_a_connector_reads_every_worker_site_and_cost_code_past_one_page(
        account, make_location, make_worker):
    site = make_location(account.id)
    workers.upsert_workers(account.id, [workers.WorkerUpdate(
        first_name="W", last_name=f"{n:03d}", employee_ref=f"R{n:03d}", location_id=site.id)
        for n in range(130)])
    for n in range(3):
        cost_codes.create_cost_code(account.id, cost_codes.CostCodeCreate(code=f"CC{n}",
                                                                          name=f"Code {n}"))
    seen = {}

    def run(ctx):
        seen["workers"] = [w["employee_ref"] for w in ctx.workers()]
        seen["found"] = ctx.find_worker("R007")
        seen["missing"] = ctx.find_worker("NOBODY")
        seen["codes"] = [c["code"] for c in ctx.cost_codes()]

    assert connectors.run_connector(account.id, a_connector(run)).status == "succeeded"
    assert seen["workers"] == [f"R{n:03d}" for n in range(130)]
    assert seen["found"]["last_name"] == "007" and seen["missing"] is None
    assert seen["codes"] == ["CC0", "CC1", "CC2"]


def test_rows_of_the_wrong_shape_are_row_errors_and_the_good_rows_are_written(account):
    seen = {}

    def run(ctx):
        seen["results"] = ctx.upsert_workers([
            {"first_name": "Ann", "last_name": "Nowak", "employee_ref": "A1"},
            {"first_name": ["not", "a", "name"], "last_name": "Bad", "employee_ref": "B1"},
            {"first_name": "Cy", "last_name": "Ode", "employee_ref": "C1"}])
        with pytest.raises(ValueError, match="first_name"):
            ctx.upsert_worker({"first_name": "", "last_name": "Blank", "employee_ref": "D1"})

    assert connectors.run_connector(account.id, a_connector(run)).status == "succeeded"
    outcomes = [outcome for outcome, _error in seen["results"]]
    assert outcomes == ["created", "error", "created"]
    assert "first_name" in seen["results"][1][1]
    assert sorted(w.employee_ref for w in workers.list_workers(account.id).data) == ["A1", "C1"]


def test_ensure_department_finds_one_in_any_case_and_refuses_a_bad_name_in_words(account):
    departments.create_department(account.id, departments.DepartmentCreate(name="Goods In"))
    seen = {}

    def run(ctx):
        seen["found"] = ctx.ensure_department("  goods in ")
        with pytest.raises(ValueError) as refused:
            ctx.ensure_department("x" * 500)
        seen["refusal"] = str(refused.value)

    assert connectors.run_connector(account.id, a_connector(run)).status == "succeeded"
    assert seen["found"]["name"] == "Goods In"
    assert "name" in seen["refusal"] and "Traceback" not in seen["refusal"]
    assert [d.name for d in departments.list_departments(account.id).data] == ["Goods In"]


def test_row_errors_past_the_kept_number_are_still_counted(account, monkeypatch):
    monkeypatch.setattr(connectors, "MAX_ROW_ERRORS", 3)

    def run(ctx):
        for line in range(1, 6):
            ctx.row_error(line, "no surname")

    run_record = connectors.run_connector(account.id, a_connector(run))
    assert [e.line for e in run_record.errors] == [1, 2, 3]
    assert run_record.counts["errors"] == 5


def test_a_run_cancelled_by_the_admin_ends_cancelled_keeping_what_it_wrote(account):
    cancel = threading.Event()

    def run(ctx):
        ctx.upsert_worker({"first_name": "Ann", "last_name": "Nowak", "employee_ref": "A1"})
        cancel.set()
        ctx.check_cancelled()
        ctx.upsert_worker({"first_name": "Bo", "last_name": "Never", "employee_ref": "B1"})

    done = connectors.run_connector(account.id, a_connector(run), cancel=cancel)
    assert (done.status, done.message) == ("cancelled", "Cancelled by the admin")
    assert [w.employee_ref for w in workers.list_workers(account.id).data] == ["A1"]


def test_ctrl_c_during_a_run_records_it_interrupted_and_still_stops(account):
    def run(ctx):
        ctx.upsert_worker({"first_name": "Ann", "last_name": "Nowak", "employee_ref": "A1"})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        connectors.run_connector(account.id, a_connector(run))
    (recorded,) = connectors.list_runs(account.id)
    assert (recorded.status, recorded.message) == ("cancelled", "Interrupted")
    # Each write call committed before it returned: what came before Ctrl+C stays.
    assert [w.employee_ref for w in workers.list_workers(account.id).data] == ["A1"]


@pytest.mark.sqlite_only  # SQLite has one writer at a time; PostgreSQL locks rows
def test_a_connector_waiting_between_writes_keeps_no_one_else_from_writing(account):
    """A connector that writes and then waits (fetching an ATS's next page) holds no write
    lock meanwhile: the admin's, the API's and the kiosks' writes go on (a batch left open
    across the wait held them all: 1.96 s behind a 2 s pause)."""
    wrote, others_wrote = threading.Event(), threading.Event()
    waited: list[bool] = []

    def run(ctx):
        ctx.upsert_worker({"first_name": "Ann", "last_name": "Nowak", "employee_ref": "A1"})
        wrote.set()
        waited.append(others_wrote.wait(10))  # the next page comes once the admin has saved
        ctx.upsert_worker({"first_name": "Bo", "last_name": "Nowak", "employee_ref": "B1"})

    def admin() -> None:
        wrote.wait(10)
        workers.create_worker(account.id, workers.WorkerCreate(first_name="Cy",
                                                               last_name="Admin"))
        others_wrote.set()

    other = threading.Thread(target=admin)
    other.start()
    done = connectors.run_connector(account.id, a_connector(run))
    other.join(10)
    assert waited == [True], "the admin's write waited for the connector"
    assert done.status == "succeeded"
    assert sorted(w.first_name for w in workers.list_workers(account.id).data) == [
        "Ann", "Bo", "Cy"]


def test_ctrl_c_swallowed_by_a_connector_still_stops_its_run_and_records_it_interrupted(
        account):
    """A third-party connector's `except BaseException` around each row ate the
    KeyboardInterrupt: the host's own check (Ctrl+C also sets `interrupted`) stops the
    run at its next write or progress report, and the run is not recorded a success."""
    interrupted = threading.Event()
    tried: list[int] = []

    def run(ctx):
        for n in range(50):
            try:
                if n == 3:
                    interrupted.set()  # Ctrl+C, whose KeyboardInterrupt ...
                    raise KeyboardInterrupt
                tried.append(n)
                ctx.upsert_worker({"first_name": f"W{n}", "last_name": "Row",
                                   "employee_ref": f"R{n}"})
                ctx.progress(n + 1, 50)
            except BaseException:  # noqa: BLE001, S112 - ... this connector swallows
                continue

    with pytest.raises(KeyboardInterrupt):
        connectors.run_connector(account.id, a_connector(run), interrupted=interrupted)
    (recorded,) = connectors.list_runs(account.id)
    assert (recorded.status, recorded.message) == ("cancelled", "Interrupted")
    assert len(workers.list_workers(account.id).data) <= 3  # nothing written after Ctrl+C


def test_a_connector_that_never_checks_is_stopped_by_the_admin_s_cancel_at_its_next_write(
        account):
    cancel = threading.Event()

    def run(ctx):
        for n in range(5):
            ctx.upsert_worker({"first_name": f"W{n}", "last_name": "Row",
                               "employee_ref": f"R{n}"})
            if n == 1:
                cancel.set()  # the admin pressed Cancel; this connector never asks

    done = connectors.run_connector(account.id, a_connector(run), cancel=cancel)
    assert (done.status, done.message) == ("cancelled", "Cancelled by the admin")
    assert [w.employee_ref for w in workers.list_workers(account.id).data] == ["R0", "R1"]


def test_ctrl_c_as_a_run_begins_its_first_write_still_records_it_interrupted(
        account, monkeypatch):
    """The signal may land inside the store's BEGIN, before the write block is recorded:
    the run must still end recorded as interrupted, with no second error on top."""
    store = database.obj
    begin = store.begin

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(store, "begin", begin)  # once: recording the run begins again
        raise KeyboardInterrupt

    def run(ctx):
        monkeypatch.setattr(store, "begin", interrupted)
        ctx.upsert_worker({"first_name": "Ann", "last_name": "Nowak", "employee_ref": "A1"})

    with pytest.raises(KeyboardInterrupt):
        connectors.run_connector(account.id, a_connector(run))
    (recorded,) = connectors.list_runs(account.id)
    assert (recorded.status, recorded.message) == ("cancelled", "Interrupted")
    assert workers.list_workers(account.id).data == []


def test_a_failure_whose_message_cannot_be_read_is_named_by_its_type(account):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no message either")

    def run(ctx):
        raise Unprintable

    done = connectors.run_connector(account.id, a_connector(run))
    assert (done.status, done.message) == ("failed", "Unprintable")


EVERY_TYPE = (
    Setting("label", "Label", "text"),
    Setting("batch", "Batch size", "integer"),
    Setting("rate", "Rate", "decimal"),
    Setting("live", "Live", "boolean"),
    Setting("mode", "Mode", "choice", choices=("full", "delta")),
    Setting("fields", "Fields", "multichoice", choices=("email", "phone")),
    Setting("start", "Start", "date"),
    Setting("feed", "Feed", "url"),
    Setting("folder", "Folder", "path"),
    Setting("token", "Token", "secret"),
)


def test_settings_of_every_type_are_saved_typed(account):
    saved = connectors.save_plugin_settings(account.id, "probe-hooks", EVERY_TYPE, {
        "label": " Night ", "batch": " 50 ", "rate": "12.5", "live": "yes", "mode": "delta",
        "fields": "email, phone", "start": "2026-03-02", "feed": "https://ats.example.com/x",
        "folder": "/srv/in", "token": "s3cret"})
    assert saved.settings == {
        "label": "Night", "batch": 50, "rate": 12.5, "live": True, "mode": "delta",
        "fields": ["email", "phone"], "start": "2026-03-02", "feed": "https://ats.example.com/x",
        "folder": "/srv/in", "token": "s3cret"}


@pytest.mark.parametrize(("name", "value", "words"), [
    ("batch", "fifty", "whole number"),
    ("rate", "12,5", "must be a number"),
    ("live", "perhaps", "yes or no"),
    ("mode", "sometimes", "one of: full, delta"),
    ("fields", "email,fax", "unknown fax"),
    ("start", "02/03/2026", "YYYY-MM-DD"),
    ("feed", "ftp://ats.example.com", "must be an http"),
    ("nickname", "x", "Unknown setting 'nickname'"),
    # numbers as an admin types them: ASCII digits only, nothing int()/float() merely tolerate
    ("batch", "1_000", "whole number"),
    ("batch", "\u0661\u0662", "whole number"),
    ("batch", "\uff15\uff10", "whole number"),
    ("batch", "9" * 19, "too large"),
    ("batch", "9" * 5000, "too large"),
    ("rate", "1_2.5", "must be a number"),
    ("rate", "\u0661.5", "must be a number"),
    # text held to the rules of every other text: nothing that hides or reorders it
    ("label", "Night\u202eshift", "control characters"),
    ("label", "Night\nshift", "control characters"),
    ("token", "s3\x85cret", "control characters"),
    ("folder", "/srv/\u200bin", "control characters"),
    ("feed", "https://ats.example.com/\u2066x", "control characters"),
    ("label", "x" * 4097, "at most 4096"),
])
def test_a_bad_value_of_each_type_is_refused_naming_the_setting_and_nothing_is_saved(
        account, name, value, words):
    with pytest.raises(Invalid, match=words) as refused:
        connectors.save_plugin_settings(account.id, "probe-hooks", EVERY_TYPE, {name: value})
    assert refused.value.field == name
    assert connectors.get_config(account.id, "probe-hooks").settings == {}


def test_a_hook_plugin_whose_saved_settings_no_longer_fit_gets_its_defaults(account):
    connectors.save_plugin_settings(account.id, "probe-hooks", EVERY_TYPE, {"batch": "50"})
    now_declared = (Setting("batch", "Batch size", "choice", default="small",
                            choices=("small", "large")),)
    seen = {}

    def run(ctx):
        seen["settings"] = ctx.for_plugin("probe-hooks", now_declared).settings

    connectors.run_connector(account.id, a_connector(run))
    assert seen["settings"] == {"batch": "small"}


def test_a_period_marked_exported_takes_dates_not_times(account):
    def run(ctx):
        ctx.mark_exported(dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 8, 17))

    done = connectors.run_connector(account.id, a_connector(run))
    assert done.status == "failed" and "dates, not times" in done.message


def test_a_period_marked_exported_with_text_for_dates_fails_the_run_in_words(account):
    def run(ctx):
        ctx.mark_exported("2026-03-02", "2026-03-08")

    done = connectors.run_connector(account.id, a_connector(run))
    assert (done.status, done.message) == ("failed", "An exported period needs two dates")
