"""How writers wait for each other on a SQLite store, and what their commits wait for.

A kiosk punch's p99 beside the API's load was made of waits that were not work: SQLite's
busy handler sleeping past the moment the store was free, the API log writer holding the
store through a sync of the disk, and checkpoints run inside the commit that answers a
batch of punches (bench/kiosk_punches.py).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from tempclock.api.services import accounts, api_logs, workers
from tempclock.api.services.common import transaction, utcnow
from tempclock.api.store import checkpoints, close_store, database, open_store

pytestmark = pytest.mark.sqlite_only

HOLD_S = 0.35  # SQLite's busy handler sleeps 12 times (1, 2, 5 ... 100 ms) before that ends
HOLDER = textwrap.dedent("""
    import sys, time
    from tempclock.api.config import load_config
    from tempclock.api.services.common import transaction
    from tempclock.api.store import open_store
    open_store(load_config(sys.argv[1]), upgrade=False)
    with transaction():
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _sleeps_of_this_thread() -> int:
    """How many times this thread has gone to sleep (Linux's voluntary context switches)."""
    status = Path("/proc/thread-self/status").read_text()
    return int(next(line for line in status.splitlines()
                    if line.startswith("voluntary_ctxt_switches")).split()[1])


@pytest.mark.skipif(not Path("/proc/thread-self/status").exists(), reason="Linux /proc")
def test_a_writer_behind_another_process_starts_when_it_commits_not_after_sqlites_sleeps(
        config, account):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(config.data_dir), str(HOLD_S)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        before = _sleeps_of_this_thread()
        with transaction():
            slept = _sleeps_of_this_thread() - before  # waiting for the holder's commit
            workers.create_worker(account.id, workers.WorkerCreate(first_name="Ana",
                                                                   last_name="Nowak"))
    finally:
        assert holder.wait(60) == 0
    # Queued on the writers' turn file: one sleep, woken when the holder commits (a few
    # more allowed for a loaded machine). SQLite's busy handler alone slept 12 times.
    assert slept <= 4
    assert [w.first_name for w in workers.list_workers(account.id).data] == ["Ana"]


def test_the_api_log_writer_commits_without_a_disk_sync_and_other_writers_still_sync(store):
    seen: dict[str, int] = {}

    def durability_of_the_writer_thread() -> None:
        seen["log writer"] = database.execute_sql("PRAGMA synchronous").fetchone()[0]

    writer = api_logs.ApiLogWriter(interval=0.01, maintenance=[durability_of_the_writer_thread],
                                   maintenance_every=0)
    writer.start()
    writer.record(api_logs.ApiLogEntry(
        created_at=utcnow(), account_id=None, key_id=None, key_name=None, key_prefix=None,
        method="GET", path="/api/v1/workers", query="", status=401, duration_ms=1.0,
        client="127.0.0.1", user_agent="curl", request_id="a" * 32, error_code="no_key"))
    writer.close()
    assert seen == {"log writer": 1}  # NORMAL: in WAL mode, durable at the next synced commit
    assert database.execute_sql("PRAGMA synchronous").fetchone()[0] == 2  # FULL, as before
    assert [log.path for log in api_logs.list_logs()] == ["/api/v1/workers"]


def _autocheckpoint_of_a_new_thread() -> int:
    found: list[int] = []

    def look() -> None:
        found.append(database.execute_sql("PRAGMA wal_autocheckpoint").fetchone()[0])
        database.close()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(30)
    return found[0]


def test_with_a_checkpointer_running_commits_leave_the_log_to_it_and_it_stays_bounded(
        store, config):
    big_query = "q=" + "x" * 3_990  # ~8 KB of pages a row: 4,000 rows write ~32 MB of log
    entries = [api_logs.ApiLogEntry(
        created_at=utcnow(), account_id=None, key_id=None, key_name=None, key_prefix=None,
        method="GET", path="/api/v1/workers", query=big_query, status=401, duration_ms=1.0,
        client="127.0.0.1", user_agent="curl", request_id=f"{n:032x}", error_code="no_key")
        for n in range(40)]
    checkpointer = checkpoints.Checkpointer(interval=0.02, catch_up_pages=1_000).start()
    try:
        assert _autocheckpoint_of_a_new_thread() == 0  # no commit checkpoints meanwhile

        def write() -> None:
            for _ in range(100):
                api_logs.write_logs(entries)
            database.close()

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(120)
    finally:
        checkpointer.stop()
    wal = config.sqlite_path.with_name(config.sqlite_path.name + "-wal")
    # Without the checkpointer (none on commit) the log holds all of it: 32 MB. With it, the
    # 4 MB (1,000 pages) at which it pauses the writers, and what came meanwhile.
    assert wal.stat().st_size < 16_000_000
    assert _autocheckpoint_of_a_new_thread() == 1000  # SQLite's default again once stopped
    assert len(api_logs.list_logs(limit=10_000)) == 4_000


def test_a_store_whose_turn_file_cannot_be_opened_still_takes_writes(config):
    # A folder where the lock file goes (or a data directory that refuses new files): the
    # writers go without turns, and SQLite's own lock keeps them apart as it always did.
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.sqlite_path.with_name(config.sqlite_path.name + ".writers").mkdir()
    open_store(config)
    try:
        account_id = accounts.create_account("Acme Staffing", api_enabled=True).id

        def write(n: int) -> None:
            try:
                workers.create_worker(account_id, workers.WorkerCreate(first_name=f"W{n}",
                                                                       last_name="Turnless"))
            finally:
                database.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert workers.list_workers(account_id).pagination.total == 4
    finally:
        close_store()
