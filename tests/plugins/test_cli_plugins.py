"""`tempclock plugins list|new`, `--plugins-dir`, and `tempclock connectors
settings|enable|disable|runs`, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from cli_runs import run_tempclock

GREETER = """\
from tempclock.plugins import Setting, hookimpl

TEMPCLOCK_SETTINGS = (
    Setting("url", "Where to say hello", type="url", default="https://hello.example.com/"),
    Setting("token", "Token", type="secret", default=""),
)


@hookimpl
def clock_in(event, context):
    context.deliver(context.settings["url"], {"hello": event.data["worker_name"]})
"""


def tc(*args, cwd=None, env=None, ok=True):
    result = run_tempclock(list(args), cwd=cwd, env=env, timeout=120)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def error_line(result) -> str:
    assert result.returncode == 1, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def dev_dir(tmp_path):
    folder = tmp_path / "dev-plugins"
    folder.mkdir()
    (folder / "greeter.py").write_text(GREETER)
    return folder


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    tc("accounts", "create", "Acme", "--data-dir", str(folder))
    return folder


def test_list_shows_every_plugin_with_its_package_hooks_and_connectors(dev_dir):
    listed = json.loads(tc("--plugins-dir", str(dev_dir), "plugins", "list", "--json").stdout)
    by_name = {p["name"]: p for p in listed["plugins"]}
    assert by_name["ats_csv"]["package"] == "tempclock"
    assert by_name["ats_csv"]["connectors"] == ["ats-csv"]
    greeter = by_name["greeter"]  # hook-only: no connector, still listed
    assert greeter["hooks"] == ["clock_in"] and greeter["connectors"] == []
    assert greeter["origin"] == str(dev_dir / "greeter.py")
    assert greeter["settings"] == ["url", "token"] and greeter["problems"] == []


def test_a_plugin_that_fails_is_listed_with_its_traceback_and_the_list_exits_zero(dev_dir):
    (dev_dir / "broken.py").write_text("import json\n\njson.loads('{not json')\n")
    (dev_dir / "quits.py").write_text("import sys\n\nsys.exit(3)\n")
    result = tc("plugins", "list", "--json", env={**os.environ,
                                                   "TEMPCLOCK_PLUGINS_DIR": str(dev_dir)})
    by_name = {p["name"]: p for p in json.loads(result.stdout)["plugins"]}
    (problem,) = by_name["broken"]["problems"]
    assert by_name["broken"]["loaded"] is False and problem["stage"] == "import"
    assert "JSONDecodeError" in problem["message"]
    assert "broken.py\", line 3" in problem["traceback"]
    assert "SystemExit: 3" in by_name["quits"]["problems"][0]["message"]
    assert by_name["greeter"]["loaded"] is True
    text = tc("--plugins-dir", str(dev_dir), "plugins", "list").stdout
    assert "broken (import): could not be imported" in text and "JSONDecodeError" in text


def test_a_plugin_for_another_contract_version_is_listed_as_refused_by_name(dev_dir):
    (dev_dir / "future.py").write_text('TEMPCLOCK_PLUGIN_API = ">=7"\n')
    listed = json.loads(tc("--plugins-dir", str(dev_dir), "plugins", "list", "--json").stdout)
    (future,) = [p for p in listed["plugins"] if p["name"] == "future"]
    message = future["problems"][0]["message"]
    assert future["loaded"] is False
    assert "'future' supports plugin API '>=7' only" in message
    assert "TempClock's plugin API is 1." in message


def test_a_plugins_dir_that_does_not_exist_is_a_one_line_error(tmp_path):
    result = tc("--plugins-dir", str(tmp_path / "nowhere"), "plugins", "list", ok=False)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error: ") and "does not exist" in result.stderr


def test_new_writes_a_package_and_refuses_bad_names_and_existing_folders(tmp_path):
    made = tc("plugins", "new", "acme-ats", cwd=tmp_path).stdout
    assert "pip install -e acme-ats" in made
    folder = tmp_path / "acme-ats"
    assert {p.name for p in folder.rglob("*") if p.is_file()} == {
        "pyproject.toml", "tempclock_acme_ats.py", "test_acme_ats.py", "README.md"}
    assert 'acme_ats = "tempclock_acme_ats"' in (folder / "pyproject.toml").read_text()
    again = tc("plugins", "new", "acme-ats", cwd=tmp_path, ok=False)
    assert "already exists" in error_line(again)
    for bad in ("Acme ATS", "../escape", "acme--ats", "9lives", ""):
        assert error_line(tc("plugins", "new", bad, cwd=tmp_path, ok=False)).startswith(
            "Error: Plugin name")


def test_a_new_plugin_loads_from_a_plugins_dir_before_it_is_installed(tmp_path):
    tc("plugins", "new", "acme-ats", cwd=tmp_path)
    listed = json.loads(tc("--plugins-dir", str(tmp_path / "acme-ats"), "plugins", "list",
                           "--json").stdout)
    (acme,) = [p for p in listed["plugins"] if p["name"] == "tempclock_acme_ats"]
    assert acme["connectors"] == ["acme-ats"] and acme["hooks"] == ["worker_created"]


def test_settings_are_shown_changed_and_checked_with_secrets_hidden(data):
    where = ("--account", "1", "--data-dir", str(data))
    shown = json.loads(tc("connectors", "settings", "crm-push", *where, "--json").stdout)
    assert shown["enabled"] is False and shown["settings"]["mapping"] == ""
    changed = json.loads(tc("connectors", "settings", "crm-push", *where, "--json",
                            "--set", "url=https://crm.example.com/in",
                            "--set", "authorization=Bearer s3cret").stdout)
    assert changed["settings"]["url"] == "https://crm.example.com/in"
    assert changed["settings"]["authorization"] == "********"
    kept = tc("connectors", "settings", "crm-push", *where, "--set", "mapping=ref=employee_ref")
    assert "s3cret" not in kept.stdout and "https://crm.example.com/in" in kept.stdout
    bad = tc("connectors", "settings", "crm-push", *where, "--set", "events=clock_on", ok=False)
    assert error_line(bad) == ("Error: Events to send: unknown clock_on; choose from clock_in, "
                               "clock_out, worker_created, worker_updated, shift_created")
    unknown = tc("connectors", "settings", "crm-push", *where, "--set", "colour=red", ok=False)
    assert "Unknown setting 'colour'" in error_line(unknown)
    assert "No connector or plugin with settings 'nope'" in error_line(
        tc("connectors", "settings", "nope", *where, ok=False))
    assert error_line(tc("connectors", "settings", "crm-push", "--account", "9",
                         "--data-dir", str(data), ok=False)) == "Error: Account 9 not found"


def test_a_hook_plugins_settings_are_set_like_a_connectors(data, dev_dir):
    where = ("--account", "1", "--data-dir", str(data))
    saved = json.loads(tc("--plugins-dir", str(dev_dir), "connectors", "settings", "greeter",
                          *where, "--set", "url=https://crm.example.org/hi", "--json").stdout)
    assert saved["settings"] == {"url": "https://crm.example.org/hi", "token": ""}
    refused = tc("--plugins-dir", str(dev_dir), "connectors", "settings", "greeter", *where,
                 "--set", "url=http://127.0.0.1/", ok=False)
    assert "internal address not allowed" in error_line(refused)


def test_enable_disable_and_runs(data, tmp_path):
    where = ("--account", "1", "--data-dir", str(data))
    refused = tc("connectors", "enable", "ats-csv", *where, ok=False)
    assert error_line(refused) == "Error: CSV file is required"
    people = tmp_path / "people.csv"
    people.write_text("Candidate ID,Forename,Surname\nC1,Ann,Nowak\n")
    tc("connectors", "settings", "ats-csv", *where, "--set", f"file={people}")
    on = json.loads(tc("connectors", "enable", "ats-csv", *where, "--json").stdout)
    assert on["enabled"] is True
    assert "Disabled ATS import (CSV) (ats-csv)" in tc("connectors", "disable", "ats-csv", *where).stdout
    tc("connectors", "run", "ats-csv", *where)
    tc("connectors", "run", "ats-csv", *where, "--dry-run")
    runs = json.loads(tc("connectors", "runs", "ats-csv", *where, "--json").stdout)["runs"]
    assert [(r["status"], r["dry_run"]) for r in runs] == [("succeeded", True),
                                                          ("succeeded", False)]
    assert runs[1]["counts"]["created"] == 1
    text = tc("connectors", "runs", *where, "--limit", "1").stdout
    assert textwrap.dedent(text).count("ats-csv") == 1 and "(dry run)" in text
    assert "No connector 'nope'" in error_line(tc("connectors", "enable", "nope", *where,
                                                  ok=False))


def test_new_refuses_a_name_whose_connector_id_is_taken_or_too_short(tmp_path):
    taken = tc("plugins", "new", "crm-push", cwd=tmp_path, ok=False)
    assert error_line(taken) == ("Error: A connector with id 'crm-push' is already installed "
                                 "(plugin 'crm_push'): choose another name")
    assert error_line(tc("plugins", "new", "a", cwd=tmp_path, ok=False)).startswith(
        "Error: Plugin name 'a': use 2 to 50")
    assert list(tmp_path.iterdir()) == []


def test_a_plugins_dir_module_named_like_an_installed_plugin_is_reported(dev_dir):
    (dev_dir / "ats_csv.py").write_text("")
    listed = json.loads(tc("--plugins-dir", str(dev_dir), "plugins", "list", "--json").stdout)
    (ats,) = [p for p in listed["plugins"] if p["name"] == "ats_csv"]
    assert ats["package"] == "tempclock"  # the installed one stays
    assert "is already installed" in ats["problems"][0]["message"]


def test_unsetting_a_setting_that_does_not_exist_is_refused(data):
    result = tc("connectors", "settings", "crm-push", "--account", "1", "--data-dir", str(data),
                "--unset", "colour", ok=False)
    assert error_line(result).startswith("Error: --unset 'colour': crm-push has no such setting")


def test_the_plugins_commands_answer_when_the_cli_is_run_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "tempclock.api.cli", "plugins", "list",
                             "--json"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert "ats_csv" in {p["name"] for p in json.loads(result.stdout)["plugins"]}
