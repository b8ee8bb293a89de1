"""The `tempclock` command (its entry point; a real process for `serve`: cli_runs), on stores
and options it must refuse in one line (never a traceback), and on lists longer than one page
or one screen."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cli_runs import run_tempclock

from tempclock.api.config import load_config
from tempclock.api.services import accounts, clocking, locations, workers
from tempclock.api.store import close_store, open_store

pytestmark = pytest.mark.sqlite_only


def tempclock(data: Path, *args: str, ok: bool = True,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = run_tempclock([*args, "--data-dir", str(data)], env=env)
    assert (done.returncode == 0) == ok, done.stderr + done.stdout
    return done


def one_line_error(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    return lines[0]


def test_a_damaged_kiosk_secret_is_named_in_one_line_and_no_pin_is_set(tmp_path):
    data = tmp_path / "data"
    tempclock(data, "accounts", "create", "Acme")
    open_store(load_config(data))
    try:
        site = locations.create_location(1, locations.LocationCreate(
            name="Leeds DC", timezone="Europe/London"))
        ann = workers.create_worker(1, workers.WorkerCreate(
            first_name="Ann", last_name="Nowak", location_id=site.id))
    finally:
        close_store()
    (data / "kiosk.secret").write_bytes(b"short")
    refused = tempclock(data, "workers", "set-pin", str(ann.id), "--pin", "4321", ok=False)
    line = one_line_error(refused)
    assert "kiosk.secret is damaged" in line and "restore it from a backup" in line
    assert "4321" not in refused.stdout
    assert (data / "kiosk.secret").read_bytes() == b"short"


def test_serve_on_a_file_that_is_not_a_database_refuses_in_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tempclock.db").write_text("Candidate ID,Forename\nC1,Ann\n")
    refused = tempclock(data, "serve", "--port", "65432", ok=False)
    assert "cannot open the store at" in one_line_error(refused)
    assert (data / "tempclock.db").read_text() == "Candidate ID,Forename\nC1,Ann\n"


def test_locations_list_shows_every_site_past_one_page(tmp_path):
    data = tmp_path / "data"
    open_store(load_config(data))
    try:
        account = accounts.create_account("Acme")
        for n in range(105):
            locations.create_location(account.id, locations.LocationCreate(
                name=f"Site {n:03d}", timezone="Europe/London"))
    finally:
        close_store()
    listed = json.loads(tempclock(data, "locations", "list", "--account", "1",
                                  "--json").stdout)
    names = [site["name"] for site in listed["locations"]]
    assert names == [f"Site {n:03d}" for n in range(105)]


def test_a_run_with_many_bad_rows_shows_twenty_and_says_how_many_more(tmp_path):
    data = tmp_path / "data"
    csv_file = tmp_path / "ats.csv"
    rows = ["Candidate ID,Forename,Surname", "C0,Ann,Nowak"] + [
        f"C{n},,Nobody{n}" for n in range(1, 26)]
    csv_file.write_text("\n".join(rows) + "\n")
    tempclock(data, "accounts", "create", "Acme")
    said = tempclock(data, "connectors", "run", "ats-csv", "--account", "1", "--set",
                     f"file={csv_file}").stdout
    assert "1 created, 25 errors" in said
    shown = [line for line in said.splitlines() if ": first name is empty" in line]
    assert len(shown) == 20 and shown[0].strip().startswith("line 3:")
    assert "... and 5 more rows with errors" in said


def test_a_payroll_export_with_many_unpaid_entries_shows_fifty_and_says_how_many_more(tmp_path):
    data = tmp_path / "data"
    open_store(load_config(data))
    try:
        account = accounts.create_account("Acme")
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds DC", timezone="Europe/London"))
        for n in range(55):
            worker = workers.create_worker(account.id, workers.WorkerCreate(
                first_name="Ann", last_name=f"Nowak{n:02d}", location_id=site.id))
            clocking.record_entry(account.id, worker.id, site.id,
                                  dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC),
                                  dt.datetime(2026, 3, 3, 16, tzinfo=dt.UTC), status="disputed")
    finally:
        close_store()
    said = tempclock(data, "connectors", "run", "payroll-csv", "--account", "1",
                     "--set", "period=custom", "--set", "date_from=2026-03-02",
                     "--set", "date_to=2026-03-08", "--set", f"output_dir={tmp_path / 'out'}"
                     ).stdout
    assert "Needs attention (55): check these before using the output." in said
    assert len([line for line in said.splitlines() if line.startswith("  ! ")]) == 50
    assert "  ... and 5 more (--json lists them all)" in said
