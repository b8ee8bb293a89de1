"""The `tempclock` command, run as a real process the way an admin or a script runs it."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import time

import pytest
from cli_runs import COMMAND, one_error_line, one_json


def test_accounts_create_and_list_as_json(tc):
    created = one_json(tc("accounts", "create", "Acme Staffing", "--enable-api", "--json"))
    assert created == {"id": 1, "name": "Acme Staffing", "api_enabled": True}
    listed = one_json(tc("accounts", "list", "--json"))
    assert listed["accounts"] == [created]
    assert "Acme Staffing" in tc("accounts", "list").stdout


def test_api_access_is_switched_off_and_on(tc):
    tc("accounts", "create", "Acme")
    assert one_json(tc("accounts", "enable-api", "1", "--json"))["api_enabled"] is True
    assert one_json(tc("accounts", "disable-api", "1", "--json"))["api_enabled"] is False


def test_a_key_is_printed_once_and_listed_only_by_prefix(tc):
    tc("accounts", "create", "Acme", "--enable-api")
    issued = one_json(tc("keys", "issue", "--account", "1", "--name", "Bullhorn ATS",
                         "--scope", "workers:read", "--scope", "timesheets:read",
                         "--expires", "2099-12-31", "--rate-limit", "120", "--json"))
    assert set(issued) == {"id", "name", "prefix", "key"}
    assert issued["key"].startswith(issued["prefix"]) and len(issued["key"]) == 48
    listing = tc("keys", "list", "--account", "1", "--json").stdout
    assert issued["key"] not in listing
    (key,) = json.loads(listing)["keys"]
    assert key["status"] == "Active" and key["rate_limit"] == 120
    assert key["scopes"] == ["workers:read", "timesheets:read"]
    assert issued["key"] not in tc("keys", "list").stdout


def test_a_revoked_key_lists_as_revoked(tc):
    tc("accounts", "create", "Acme")
    issued = one_json(tc("keys", "issue", "--account", "1", "--name", "ATS", "--json"))
    tc("keys", "revoke", str(issued["id"]))
    (key,) = one_json(tc("keys", "list", "--json"))["keys"]
    assert key["status"] == "Revoked"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("accounts", "enable-api", "42"), "Account 42 not found"),
        (("keys", "issue", "--account", "1", "--name", "X", "--scope", "all"), "Unknown scope"),
        (("keys", "issue", "--account", "1", "--name", "X", "--expires", "31/12/2027"),
         "--expires"),
        (("keys", "issue", "--account", "1", "--name", "X", "--expires", "2001-01-01"),
         "future"),
        (("keys", "issue", "--account", "1", "--name", "  "), "Missing required field: name"),
        (("keys", "revoke", "abc"), "KEY_ID"),
        (("accounts", "create", "Acme"), "already exists"),
    ],
)
def test_bad_input_prints_one_error_line_and_exits_non_zero(tc, args, words):
    tc("accounts", "create", "Acme")
    assert words in one_error_line(tc(*args, ok=False))


def test_errors_with_json_are_one_json_object(tc):
    result = tc("accounts", "enable-api", "42", "--json", ok=False)
    assert result.returncode == 1
    assert one_json(result) == {"error": True, "code": "not_found",
                                "message": "Account 42 not found"}


def test_demo_loads_an_agency_into_an_empty_account(tc):
    tc("accounts", "create", "Demo Agency")
    summary = one_json(tc("demo", "--account", "1", "--json"))
    assert summary["workers"] >= 60 and summary["locations"] >= 5
    assert summary["time_entries"] > 500 and summary["open_entries"] > 0
    again = tc("demo", "--account", "1", ok=False)
    assert "already has workers" in again.stderr


def test_db_upgrade_reports_applied_then_up_to_date(tc):
    first = one_json(tc("db", "upgrade", "--json"))
    assert first["applied"][0] == "0001_initial"
    assert one_json(tc("db", "upgrade", "--json"))["applied"] == []
    assert "up to date" in tc("db", "upgrade").stdout


def test_the_data_directory_comes_from_the_environment_too(tmp_path):
    env = {"TEMPCLOCK_DATA_DIR": str(tmp_path / "env-dir"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([*COMMAND, "accounts", "create", "Env Agency", "--json"],
                            capture_output=True, text=True, env=env, timeout=60, check=True)
    assert json.loads(result.stdout)["name"] == "Env Agency"
    assert (tmp_path / "env-dir" / "tempclock.db").exists()


def test_internal_targets_are_allowed_and_withdrawn_with_who_and_when_recorded(tc):
    from tempclock.api.config import load_config
    from tempclock.api.services import webhooks
    from tempclock.api.services.errors import Invalid
    from tempclock.api.store import close_store, open_store
    from tempclock.api.store.models import Event

    tc("accounts", "create", "Acme")
    allowed = one_json(tc("accounts", "allow-internal-targets", "1", "--json"))
    assert allowed["internal_targets_allowed"] is True
    assert allowed["changed_by"].startswith("cli:") and allowed["changed_at"].endswith("Z")
    open_store(load_config(tc.data_dir))
    try:
        hook = webhooks.create_webhook(1, webhooks.WebhookCreate(url="http://127.0.0.1:9/hook"))
        assert hook.url == "http://127.0.0.1:9/hook"
    finally:
        close_store()
    said = tc("accounts", "allow-internal-targets", "1", "--deny").stdout
    assert "no longer" in said
    open_store(load_config(tc.data_dir))
    try:
        with pytest.raises(Invalid, match="internal address not allowed"):
            webhooks.create_webhook(1, webhooks.WebhookCreate(url="http://127.0.0.1:9/hook"))
        audit = [json.loads(e.data) for e in Event.select()
                 .where(Event.type == "internal_targets_changed").order_by(Event.id)]
    finally:
        close_store()
    assert [(a["allowed"], a["by"].startswith("cli:")) for a in audit] == [(True, True),
                                                                          (False, True)]
    refused = tc("accounts", "allow-internal-targets", "99", ok=False)
    assert refused.returncode == 1 and refused.stderr.strip() == "Error: Account 99 not found"


# --- error paths: one line `Error: ...`, a non-zero exit, nothing stored lost -------------


def test_accounts_rename_renames_and_refuses_an_unknown_account_or_a_blank_name(tc):
    tc("accounts", "create", "Acme")
    renamed = one_json(tc("accounts", "rename", "1", "Acme Staffing", "--json"))
    assert renamed == {"id": 1, "name": "Acme Staffing", "api_enabled": False}
    unknown = tc("accounts", "rename", "5", "Rival", ok=False)
    assert (unknown.returncode, unknown.stderr) == (1, "Error: Account 5 not found\n")
    blank = tc("accounts", "rename", "1", "   ", ok=False)
    assert blank.returncode == 1 and blank.stderr.startswith("Error: ")
    assert len(blank.stderr.splitlines()) == 1
    assert one_json(tc("accounts", "list", "--json"))["accounts"][0]["name"] == "Acme Staffing"


@pytest.mark.parametrize("since", ["yesterday", "15", "2h ago", "2026-13-45", ""])
def test_logs_refuse_a_since_that_is_no_date_time_or_age_in_one_line(tc, since):
    result = tc("logs", "--since", since, ok=False)
    assert result.returncode == 1
    assert result.stderr == (f"Error: --since {since!r}: use a date (2026-03-10), a time "
                             "(2026-03-10T07:00) or an age (15m, 2h, 7d)\n")


@pytest.mark.parametrize("since", ["15m", "2h", "7d", "2026-03-10", "2026-03-10T07:00+01:00"])
def test_logs_take_a_since_as_an_age_a_date_or_a_time(tc, since):
    assert one_json(tc("logs", "--since", since, "--json")) == {"logs": []}


def test_a_store_that_is_not_a_database_is_refused_in_one_line_and_left_as_it_was(tc):
    tc.data_dir.mkdir(parents=True)
    store = tc.data_dir / "tempclock.db"
    store.write_bytes(b"not a database, but the admin's file " * 200)
    result = tc("accounts", "list", ok=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert store.read_bytes() == b"not a database, but the admin's file " * 200


@pytest.mark.sqlite_only
def test_a_command_run_while_another_process_writes_waits_its_turn_and_succeeds(tc):
    tc("accounts", "create", "Acme")
    other = sqlite3.connect(tc.data_dir / "tempclock.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process in the middle of a write
    command = subprocess.Popen([*COMMAND, "accounts", "rename", "1", "Acme Staffing",
                                "--data-dir", str(tc.data_dir)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        assert command.poll() is None  # it cannot have written: it waits
    finally:
        other.execute("ROLLBACK")
        other.close()
    out, err = command.communicate(timeout=60)
    assert (command.returncode, err) == (0, "")
    assert one_json(tc("accounts", "list", "--json"))["accounts"][0]["name"] == "Acme Staffing"


def test_serve_on_a_port_in_use_says_so_in_one_line(tc):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*COMMAND, "serve", "--port", str(port), "--no-dispatch",
                                 "--data-dir", str(tc.data_dir)],
                                capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: could not serve on 127.0.0.1:{port} (is the port in use?)")
    assert "Traceback" not in result.stderr


def test_serve_with_one_worker_and_redis_unreachable_refuses_in_one_line(tc, monkeypatch):
    monkeypatch.setenv("TEMPCLOCK_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    with socket.socket() as probe:  # a port free now; serve must refuse before binding it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run([*COMMAND, "serve", "--port", str(port), "--data-dir",
                             str(tc.data_dir)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: cannot reach Redis at 127.0.0.1:1/0: ")
    assert "secret" not in result.stderr


def test_serve_with_several_workers_and_redis_unreachable_refuses_to_start(tc, monkeypatch):
    monkeypatch.setenv("TEMPCLOCK_DATABASE_URL", "postgresql://tempclock@127.0.0.1:1/none")
    monkeypatch.setenv("TEMPCLOCK_REDIS_URL", "redis://:secret@127.0.0.1:1/0")
    result = subprocess.run([*COMMAND, "serve", "--workers", "2", "--data-dir",
                             str(tc.data_dir)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: cannot reach Redis at 127.0.0.1:1/0: ")
    assert "secret" not in result.stderr
