"""`tempclock demo` run as a real process with the clock just after a spring clock change."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from cli_runs import COMMAND, one_json

FAKETIME = shutil.which("faketime")


@pytest.mark.skipif(FAKETIME is None, reason="libfaketime is not installed "
                    "(apt-get install faketime; .ci/run installs it)")
def test_demo_loads_in_the_days_after_the_spring_clock_change(tmp_path):
    # The demo once failed here ("Breaks must lie inside the entry") on 2027-03-28..04-05.
    env = {**os.environ, "TZ": "UTC", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    data_dir = str(tmp_path / "data")

    def tempclock(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([FAKETIME, "2027-03-29 12:00:00", *COMMAND, *args,
                               "--data-dir", data_dir],
                              capture_output=True, text=True, timeout=300, env=env, check=False)

    tempclock("accounts", "create", "Demo Agency")
    loaded = tempclock("demo", "--account", "1", "--json")
    assert loaded.returncode == 0, loaded.stderr
    summary = one_json(loaded)
    assert summary["workers"] == 72 and summary["time_entries"] > 500
    listed = one_json(tempclock("locations", "list", "--account", "1", "--json"))
    assert {site["timezone"] for site in listed["locations"]} >= {"Europe/London",
                                                                   "Europe/Warsaw"}
    assert "2027-03-29" in tempclock("accounts", "list").stdout  # the clock really was moved
