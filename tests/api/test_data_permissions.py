"""Who can read what TempClock writes: the data directory holds webhook secrets, connector
credentials and staff personal data, so on POSIX every folder in it is 0700 and every file
0600 — the store and its WAL, backups, the store kept aside by a restore, payroll exports,
the lock and signal files, the desktop's settings — whatever the umask, and a directory an
older version left readable is tightened when TempClock next opens it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")]


def tempclock(data: Path, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tempclock.api.cli", *args, "--json",
                           "--data-dir", str(data)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_everything_the_cli_writes_in_the_data_directory_is_the_users_alone(
        tmp_path, readable_by_others):
    data = tmp_path / "data"
    account = tempclock(data, "accounts", "create", "Acme", "--enable-api")
    tempclock(data, "keys", "issue", "--account", str(account["id"]), "--name", "ATS")
    tempclock(data, "demo", "--account", str(account["id"]))
    backup = tempclock(data, "db", "backup", str(data / "monday.db"))
    tempclock(data, "db", "restore", backup["path"])
    tempclock(data, "connectors", "run", "payroll-csv", "--account", str(account["id"]),
              "--set", "period=this_week")

    assert list((data / "exports").glob("*.csv")), "the payroll export wrote nothing"
    assert list(data.glob("*before-restore*")), "the restore kept nothing aside"
    assert {p.name for p in data.iterdir()} >= {"tempclock.db", "tempclock.db.lock"}
    assert readable_by_others(data) == []


def test_a_data_directory_an_older_version_left_readable_is_tightened_on_open(
        tmp_path, readable_by_others):
    data = tmp_path / "data"
    tempclock(data, "accounts", "create", "Acme")
    tempclock(data, "db", "backup", str(data / "old-backup.db"))
    (data / "exports").mkdir()
    (data / "exports" / "payroll.csv").write_text("employee_ref,hours\nE1,8.00\n")
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    tempclock(data, "accounts", "list")
    assert readable_by_others(data) == []
