"""`tempclock connectors list` and `run`, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "api.cli"]


def tc(data_dir, *args, env=None, ok=True):
    result = subprocess.run([*COMMAND, *args, "--data-dir", str(data_dir)], capture_output=True,
                            text=True, timeout=120, env=env, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_list_shows_the_installed_connectors(tmp_path):
    listed = json.loads(tc(tmp_path, "connectors", "list", "--json").stdout)
    by_id = {c["id"]: c for c in listed["connectors"]}
    assert by_id["ats-csv"]["kind"] == "ats"
    assert by_id["payroll-csv"]["capabilities"] == ["export_timesheets"]
    assert by_id["crm-push"]["package"] == "tempclock"
    assert listed["problems"] == []


def test_an_installed_third_party_package_is_listed_and_runs(tmp_path, tiny_site):
    env = {**os.environ, "PYTHONPATH": str(tiny_site)}
    tc(tmp_path, "accounts", "create", "Acme", env=env)
    listed = tc(tmp_path, "connectors", "list", env=env).stdout
    assert "tiny-roster" in listed and "tempclock-tiny-roster" in listed
    run = json.loads(tc(tmp_path, "connectors", "run", "tiny-roster", "--account", "1",
                        "--set", "roster=T1:Ann Nowak, T2:Bob Smith", "--json", env=env).stdout)
    assert run["status"] == "succeeded" and run["counts"] == {"created": 2}


def test_run_imports_a_csv_and_reports_bad_rows_by_line(tmp_path):
    csv_file = tmp_path / "ats.csv"
    rows = ["Candidate ID,Forename,Surname"] + [f"C{n},Ann,Nowak{n}" for n in range(300)]
    rows.append("C999,,Nobody")
    csv_file.write_text("\n".join(rows) + "\n")
    tc(tmp_path, "accounts", "create", "Acme")
    dry = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
             f"file={csv_file}", "--dry-run")
    assert "succeeded (dry run): 300 created, 1 errors, 301 rows" in dry.stdout
    assert "line 302: first name is empty" in dry.stdout
    real = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
              f"file={csv_file}")
    assert "300 created" in real.stdout


def test_bad_requests_are_one_line_errors(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    unknown = tc(tmp_path, "connectors", "run", "nope", "--account", "1", ok=False)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().startswith("Error: No connector 'nope' (installed: ")
    missing = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", ok=False)
    assert missing.stderr.strip() == "Error: CSV file is required"
    bad_set = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set", "file",
                 ok=False)
    assert "write NAME=VALUE" in bad_set.stderr


def test_a_failed_run_exits_non_zero_with_its_reason(tmp_path):
    tc(tmp_path, "accounts", "create", "Acme")
    result = tc(tmp_path, "connectors", "run", "ats-csv", "--account", "1", "--set",
                f"file={tmp_path / 'absent.csv'}", ok=False)
    assert result.returncode == 1
    assert "failed" in result.stdout and "No such file" in result.stdout
