"""Stopping `tempclock serve` as service managers and terminals do it, while clients clock
workers in and out: SIGTERM or SIGINT to its whole process group (`timeout`, systemd's
KillMode=control-group, Docker, Ctrl+C), to the server alone, or to its dispatcher first;
and SIGHUP, as a closed terminal sends it.

Every way, the server exits within 5 s, leaves no process of its group behind, leaks no
semaphore, and every clock action it acknowledged is in the store with its API log entry.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import sys
import time

import pytest
from serving import Load, Server, group_is_gone, running

from tempclock.api.services import accounts, keys, locations, workers

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and groups")]

STOP_WITHIN_S = 5.0
CLIENTS = 3


@pytest.fixture
def agency(store):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    staff = [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=f"W{n}", last_name="Temp", location_id=site.id)).id
        for n in range(CLIENTS * 2)]
    key = keys.issue_key(account.id, "Load", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    return staff, key


HUNG_PLUGIN = """
import os
import pathlib
import threading

from tempclock.plugins import hookimpl


@hookimpl
def clock_in(event, context):
    pathlib.Path(os.environ["TEMPCLOCK_TEST_HUNG"]).touch()
    threading.Event().wait()  # never returns
"""


@pytest.fixture
def hung_plugin(tmp_path, monkeypatch):
    """An installed plugin whose clock_in hook never returns (a module and its entry point)."""
    site = tmp_path / "site"
    (site / "tempclock_hangs-1.0.dist-info").mkdir(parents=True)
    (site / "tempclock_hangs-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: tempclock-hangs\nVersion: 1.0\n")
    (site / "tempclock_hangs-1.0.dist-info" / "entry_points.txt").write_text(
        "[tempclock]\nhangs = tempclock_hangs\n")
    (site / "tempclock_hangs.py").write_text(HUNG_PLUGIN)
    monkeypatch.setenv("TEMPCLOCK_TEST_HUNG", str(tmp_path / "hung"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))


def dispatcher_pid(server: Server, timeout: float = 30.0) -> int:
    """The dispatcher process `server` started, once it says it is running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"the dispatcher is running \(process (\d+)\)", server.log.read_text())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise AssertionError(f"the dispatcher never started:\n{server.log.read_text()}")


def signal_dispatcher_first(server: Server, dispatcher: int) -> None:
    os.kill(dispatcher, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WITHIN_S
    while running(dispatcher) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(dispatcher), "the dispatcher ignored SIGTERM"
    server.process.send_signal(signal.SIGTERM)


STOPS = {
    "SIGTERM to its process group": lambda s, _d: os.killpg(s.process.pid, signal.SIGTERM),
    "SIGINT to its process group": lambda s, _d: os.killpg(s.process.pid, signal.SIGINT),
    "SIGTERM to the server alone": lambda s, _d: s.process.send_signal(signal.SIGTERM),
    "SIGTERM to the dispatcher, then the server": signal_dispatcher_first,
    # The terminal `tempclock serve` runs in is closed (or its SSH session drops).
    "SIGHUP to its process group": lambda s, _d: os.killpg(s.process.pid, signal.SIGHUP),
    "SIGHUP to the server alone": lambda s, _d: s.process.send_signal(signal.SIGHUP),
    # An impatient Ctrl+C: the second came while the first was still stopping the server.
    "SIGINT twice to its process group": lambda s, _d: (
        os.killpg(s.process.pid, signal.SIGINT), time.sleep(0.05),
        os.killpg(s.process.pid, signal.SIGINT)),
}


@pytest.mark.parametrize("how", list(STOPS))
def test_serve_stops_within_5_s_keeping_every_acknowledged_clock_action(
        config, agency, tmp_path, how):
    staff, key = agency
    server = Server(config, tmp_path / "serve.log", own_group=True)
    group = server.process.pid
    load = Load(key=key, url=server.url)
    try:
        dispatcher = dispatcher_pid(server)
        load.start([staff[n::CLIENTS] for n in range(CLIENTS)], random.randrange(2**32))
        deadline = time.monotonic() + 30
        while len(load.acknowledged) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        STOPS[how](server, dispatcher)  # the clients keep clocking meanwhile
        signalled = time.monotonic()
        server.process.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        load.finish()
        if server.process.poll() is None:
            os.killpg(group, signal.SIGKILL)
            server.process.wait()
    output = server.log.read_text()
    assert took <= STOP_WITHIN_S, f"stopped after {took:.1f} s:\n{output}"
    assert server.process.returncode == 0, output
    assert group_is_gone(group, STOP_WITHIN_S), "a process of the server's group is left"
    assert "leaked semaphore" not in output, output
    # Its shutdown ran to the end (the API log's last writes), however many signals came:
    # uvicorn's forced exit on a second Ctrl+C skipped it and printed the cancelled shutdown.
    assert "Application shutdown complete." in output and "CancelledError" not in output, output
    assert not load.unexpected, load.unexpected[:5]
    assert len(load.acknowledged) >= 30

    database = sqlite3.connect(config.sqlite_path)
    try:
        entries = {row[0] for row in database.execute("SELECT id FROM time_entry")}
        logged = {row[0] for row in database.execute("SELECT request_id FROM api_log")}
    finally:
        database.close()
    assert {ack.entry_id for ack in load.acknowledged} <= entries
    assert {ack.request_id for ack in load.acknowledged} <= logged, (
        "requests answered before the stop are missing from the API log")


def test_serve_stops_within_5_s_while_a_plugin_hook_hangs(config, agency, hung_plugin, tmp_path):
    staff, key = agency
    server = Server(config, tmp_path / "serve.log", own_group=True)
    group = server.process.pid
    try:
        dispatcher_pid(server)
        load = Load(key=key, url=server.url)
        load.start([staff[:1]], 1)
        deadline = time.monotonic() + 30
        while not any(a.action == "in" for a in load.acknowledged) and time.monotonic() < deadline:
            time.sleep(0.05)
        load.finish()
        while not (tmp_path / "hung").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "hung").exists(), "the plugin's hook was never called"
        os.killpg(group, signal.SIGTERM)
        signalled = time.monotonic()
        server.process.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if server.process.poll() is None:
            os.killpg(group, signal.SIGKILL)
            server.process.wait()
    output = server.log.read_text()
    assert took <= STOP_WITHIN_S, f"stopped after {took:.1f} s:\n{output}"
    assert group_is_gone(group, STOP_WITHIN_S), "a process of the server's group is left"
