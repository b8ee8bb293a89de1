"""Backup and restore round-trip a store while `tempclock serve` answers clocking requests:
the backup holds everything acknowledged before it started and nothing sent after it
finished; clocking never fails meanwhile; restoring over the running server is refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serving import Load, Server, stored_time

from tempclock.api.services import accounts, api_logs, keys, locations, workers
from tempclock.api.store import close_store

pytestmark = pytest.mark.sqlite_only

CLIENTS = 3
WORKERS_EACH = 3
BULK_LOG_ROWS = 60_000  # so the backup takes long enough for requests to land during it


def tempclock(config, *args: str) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "tempclock.api.cli", *args, "--json",
                           "--data-dir", str(config.data_dir)],
                          capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, json.loads(done.stdout)


def stored(path: Path) -> dict[int, tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {row[0]: row[1:] for row in db.execute(
            "SELECT id, worker_id, clock_in, clock_out FROM time_entry")}


def holds(entries: dict[int, tuple], ack) -> bool:
    """Whether an acknowledged clock action is in a store's entries."""
    entry = entries.get(ack.entry_id)
    if entry is None:
        return False
    return (entry[1] if ack.action == "in" else entry[2]) == stored_time(ack.at)


@pytest.fixture
def agency(store):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    staff = [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=f"W{n}", last_name="Temp", location_id=site.id)).id
        for n in range(CLIENTS * WORKERS_EACH)]
    key = keys.issue_key(account.id, "Load", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    # Months of request logs: a store of some size.
    entry = api_logs.ApiLogEntry(
        created_at=dt.datetime.now(dt.UTC), account_id=account.id, key_id=None, key_name=None,
        key_prefix=None, method="GET", path="/api/v1/workers", query="", status=200,
        duration_ms=1.0, client="127.0.0.1", user_agent="ats/1.0", request_id="r",
        error_code=None)
    for _ in range(BULK_LOG_ROWS // 5000):
        api_logs.write_logs([entry] * 5000)
    close_store()  # from here on, only the server and the CLI use the store
    return staff, key


def test_backup_and_restore_round_trip_a_store_while_it_serves(config, agency, tmp_path):
    staff, key = agency
    backup = tmp_path / "backup.db"
    load = Load(key=key)
    server = Server(config, tmp_path / "serve.log")
    load.url = server.url
    load.start([staff[n * WORKERS_EACH:(n + 1) * WORKERS_EACH] for n in range(CLIENTS)],
               random.randrange(2**32))
    try:
        while len(load.acknowledged) < 30:
            time.sleep(0.05)
        began = time.monotonic()
        code, made = tempclock(config, "db", "backup", str(backup))
        ended = time.monotonic()
        assert code == 0, made
        during = [a for a in load.acknowledged if began < a.answered < ended]
        wanted = len(load.acknowledged) + 30
        while len(load.acknowledged) < wanted:
            time.sleep(0.05)

        # Restoring over a store the server is using is refused, and changes nothing.
        code, refused = tempclock(config, "db", "restore", str(backup))
        assert (code, refused["code"]) == (1, "store_in_use"), refused
    finally:
        load.finish()
    server.stop()
    assert not load.unexpected and load.lost_connections == 0, load.unexpected[:3]
    assert during, "no request was answered while the backup ran"
    print(f"backup took {ended - began:.2f} s; {len(during)} clock actions answered meanwhile")

    live = stored(config.sqlite_path)
    assert all(holds(live, ack) for ack in load.acknowledged)
    snapshot = stored(backup)
    before = [a for a in load.acknowledged if a.answered < began]
    after = [a for a in load.acknowledged if a.sent > ended]
    assert before and after
    assert all(holds(snapshot, ack) for ack in before)
    assert not any(holds(snapshot, ack) for ack in after)
    assert made["counts"]["time_entry"] == len(snapshot)

    code, restored = tempclock(config, "db", "restore", str(backup))
    assert code == 0, restored
    assert stored(config.sqlite_path) == snapshot
    assert stored(Path(restored["replaced"])) == live  # nothing acknowledged is thrown away
    with contextlib.closing(sqlite3.connect(config.sqlite_path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

    # The restored store serves again, with the snapshot's state.
    open_now = {entry[0] for entry in snapshot.values() if entry[2] is None}
    server = Server(config, tmp_path / "serve-restored.log")
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1",
                          headers={"Authorization": f"Bearer {key}"}) as http:
            active = http.get("/timesheets", params={"entry_filter": "active"}).json()
            assert {e["worker_id"] for e in active["data"]} == open_now
            worker_id = next(w for w in staff if w not in open_now)
            assert http.post("/clock", json={"worker_id": worker_id, "action": "in"}
                             ).status_code == 201
    finally:
        server.stop()
