"""Backups of the SQLite store: one verified file each, restored only over a store nobody uses,
the replaced store kept aside; damaged, foreign and too-new backups refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_runs import COMMAND, run_tempclock
from playhouse.migrations import Runner

from tempclock.api.config import Config
from tempclock.api.services import clocking, deliveries, workers
from tempclock.api.store import MIGRATIONS_DIR, _connect, close_store, lock, migrate, open_store
from tempclock.api.store.backup import (
    BackupError,
    backup_store,
    latest_backup_at,
    list_backups,
    prune_backups,
    restore_store,
)

pytestmark = pytest.mark.sqlite_only


def names(account_id: int) -> list[str]:
    return [w.first_name for w in workers.list_workers(account_id).data]


def rows(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


@contextlib.contextmanager
def another_process_using(config: Config, *, without_fcntl: bool = False):
    """A separate process with the store open, as a running server has it.

    `without_fcntl`: our code there cannot import `fcntl`, as on Windows (the lock
    library has it already: it is what locks on POSIX).
    """
    hide = ("import portalocker; sys.modules['fcntl'] = None; " if without_fcntl else "")
    code = (f"import sys; {hide}from api.config import load_config; "
            "from api.store import open_store; "
            f"open_store(load_config({str(config.data_dir)!r})); print('open', flush=True); "
            "sys.stdin.read()")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "open"
        yield
    finally:
        process.stdin.close()
        process.wait(30)
        process.stdout.close()


@pytest.fixture
def staffed(account, make_worker):
    make_worker(account.id, "Before")
    return account


def test_a_backup_is_one_self_contained_verified_file_with_the_store_in_it(config, staffed, site,
                                                                           tmp_path):
    ann = workers.list_workers(staffed.id).data[0]
    clocking.clock_in(staffed.id, ann.id, location_id=site.id)
    folder = tmp_path / "backups"
    folder.mkdir()
    made = backup_store(config, folder)
    path = Path(made.path)
    assert re.fullmatch(r"tempclock-\d{8}-\d{6}\.db", path.name)
    assert [p.name for p in folder.iterdir()] == [path.name]  # no journal, no partial file
    assert rows(path, "PRAGMA journal_mode") == [("delete",)]
    assert rows(path, "SELECT first_name FROM worker") == [("Before",)]
    events = rows(path, "SELECT count(*) FROM event")[0][0]
    assert events >= 3  # the account, the worker and the clock-in were each an event
    assert events == len(deliveries.pending_events(0, limit=10_000))  # the store's, all of them
    assert made.counts == {"account": 1, "worker": 1, "time_entry": 1, "shift": 0,
                           "event": events}
    assert made.holds.startswith("1 account, 1 worker, 1 time entry, 0 shifts")
    assert made.size_bytes == path.stat().st_size
    assert made.created_at == latest_backup_at(folder)


def test_a_backup_never_replaces_a_file_or_the_store(config, staffed, tmp_path):
    taken = tmp_path / "monday.db"
    taken.write_text("something the admin keeps")
    with pytest.raises(BackupError) as refusal:
        backup_store(config, taken)
    assert refusal.value.code == "exists"
    assert taken.read_text() == "something the admin keeps"
    with pytest.raises(BackupError) as refusal:
        backup_store(config, config.sqlite_path.with_name("tempclock.db-wal"))
    assert refusal.value.code == "invalid"


def test_restoring_brings_back_the_backup_and_keeps_the_replaced_store_aside(
        config, staffed, make_worker, tmp_path):
    made = backup_store(config, tmp_path / "monday.db")
    make_worker(staffed.id, "After")
    close_store()

    restored = restore_store(config, Path(made.path))
    assert restored.store == str(config.sqlite_path)
    assert restored.upgraded == []
    replaced = Path(restored.replaced)
    assert replaced.parent == config.data_dir and "before-restore" in replaced.name
    assert rows(replaced, "SELECT first_name FROM worker ORDER BY id") == [("Before",), ("After",)]
    assert Path(made.path).exists()  # the backup itself is left as it was

    open_store(config)
    assert names(staffed.id) == ["Before"]
    make_worker(staffed.id, "Later")  # the restored store works as ever
    assert names(staffed.id) == ["Before", "Later"]


@pytest.mark.parametrize("platform", ["POSIX", "no fcntl, as on Windows"])
def test_restoring_is_refused_while_another_process_uses_the_store(config, staffed, make_worker,
                                                                   tmp_path, platform):
    made = backup_store(config, tmp_path / "monday.db")
    make_worker(staffed.id, "After")
    close_store()
    with another_process_using(config, without_fcntl=platform != "POSIX"):
        with pytest.raises(BackupError) as refusal:
            restore_store(config, Path(made.path))
        assert refusal.value.code == "store_in_use"
        assert "quit it first" in refusal.value.message
    assert list(config.data_dir.glob("*before-restore*")) == []
    open_store(config)
    assert names(staffed.id) == ["Before", "After"]  # untouched

    # This process's own use does not count: the desktop restores after stopping its server.
    restore_store(config, Path(made.path))
    assert names(staffed.id) == ["Before"]


def test_a_backup_made_during_a_restore_waits_for_it_and_the_store_stays_held(config, staffed,
                                                                             tmp_path):
    made = backup_store(config, tmp_path / "monday.db")
    restoring, finished = threading.Event(), threading.Event()

    def restore_slowly() -> None:  # a restore in this process, as the desktop runs one
        with lock.exclusive(config.sqlite_path):
            restoring.set()
            time.sleep(0.3)
        finished.set()

    thread = threading.Thread(target=restore_slowly)
    thread.start()
    assert restoring.wait(10)
    during = backup_store(config, tmp_path / "during.db")
    assert finished.is_set()  # it waited for the restore to finish
    thread.join()
    assert during.counts["account"] == 1
    # This process still has its store open: another process may not restore over it.
    code = ("from api.config import load_config; from api.store.backup import BackupError, "
            f"restore_store\ntry: restore_store(load_config({str(config.data_dir)!r}), "
            f"__import__('pathlib').Path({made.path!r}))\n"
            "except BackupError as e: print(e.code)")
    refused = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60, check=True)
    assert refused.stdout.strip() == "store_in_use", refused.stderr


@pytest.mark.parametrize("damage", ["garbage in its pages", "not a database", "another app's"])
def test_a_damaged_or_foreign_backup_is_refused_and_the_store_left_alone(config, staffed,
                                                                         tmp_path, damage):
    bad = tmp_path / "bad.db"
    if damage == "garbage in its pages":
        shutil.copyfile(backup_store(config, tmp_path / "good.db").path, bad)
        with bad.open("r+b") as f:
            f.seek(4096 * 3)
            f.write(b"\xde\xad\xbe\xef" * 4096)
    elif damage == "not a database":
        bad.write_text("payroll.csv, not a backup")
    else:
        with contextlib.closing(sqlite3.connect(bad)) as other:
            other.execute("CREATE TABLE notes (text)")
    close_store()
    with pytest.raises(BackupError) as refusal:
        restore_store(config, bad)
    assert refusal.value.code in ("backup_damaged", "not_a_backup")
    assert list(config.data_dir.glob("*before-restore*")) == []
    assert list(config.data_dir.glob(".*")) == []  # the private copy is gone
    open_store(config)
    assert names(staffed.id) == ["Before"]


def test_a_backup_made_by_a_newer_version_is_refused(config, staffed, tmp_path):
    path = Path(backup_store(config, tmp_path / "future.db").path)
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO schema_migration (name, applied) VALUES ('9999_future', '')")
    close_store()
    with pytest.raises(BackupError) as refusal:
        restore_store(config, path)
    assert refusal.value.code == "backup_too_new"
    assert "9999_future" in refusal.value.message


def test_a_backup_made_by_an_older_version_is_upgraded_when_restored(config, staffed, tmp_path):
    path = Path(backup_store(config, tmp_path / "old.db").path)
    db = _connect(Config(data_dir=tmp_path / "old", database_url=f"sqlite:///{path}"))
    latest = Runner(db, str(MIGRATIONS_DIR)).down()
    db.close()
    close_store()

    restored = restore_store(config, path)
    assert restored.upgraded == latest
    assert latest[0] not in restored.backup.migrations
    open_store(config)
    assert migrate() == []
    assert names(staffed.id) == ["Before"]


def test_only_the_newest_dated_backups_are_kept_and_nothing_else_is_touched(tmp_path):
    stamps = ["20260301-020000", "20260302-020000", "20260303-020000", "20260303-140000"]
    for stamp in stamps:
        (tmp_path / f"tempclock-{stamp}.db").write_text(stamp)
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "tempclock-copy.db").write_text("not a dated backup")
    removed = prune_backups(tmp_path, keep=2)
    assert sorted(p.name for p in removed) == ["tempclock-20260301-020000.db",
                                               "tempclock-20260302-020000.db"]
    assert [p.name for p in list_backups(tmp_path)] == ["tempclock-20260303-140000.db",
                                                        "tempclock-20260303-020000.db"]
    assert (tmp_path / "notes.txt").exists() and (tmp_path / "tempclock-copy.db").exists()
    assert latest_backup_at(tmp_path).isoformat() == "2026-03-03T14:00:00+00:00"


def test_a_backup_left_half_written_days_ago_is_deleted_with_the_old_backups(tmp_path):
    """A backup cut off mid-copy (the PC shut down, the desktop killed) left a hidden copy
    of the whole store for good: pruning kept only dated backups in view. One begun more
    than a day ago is abandoned and goes; a recent one may still be being written."""
    for stamp in ("20260301-020000", "20260303-020000"):
        (tmp_path / f"tempclock-{stamp}.db").write_text(stamp)
    abandoned = [tmp_path / ".tempclock-20260302-020000.db.partial",
                 tmp_path / ".tempclock-20260302-020000.db.partial-journal"]
    recent = tmp_path / ".tempclock-20260303-103000.db.partial"
    for path in [*abandoned, recent]:
        path.write_text("half a store")
    (tmp_path / ".notes.partial").write_text("not ours")
    now = dt.datetime(2026, 3, 3, 11, 0, tzinfo=dt.UTC)
    removed = prune_backups(tmp_path, keep=2, now=now)
    assert sorted(removed) == sorted(abandoned)
    assert not any(path.exists() for path in abandoned)
    assert recent.exists() and (tmp_path / ".notes.partial").exists()
    assert [p.name for p in list_backups(tmp_path)] == ["tempclock-20260303-020000.db",
                                                        "tempclock-20260301-020000.db"]


def test_a_postgresql_store_is_backed_up_with_its_own_tools(tmp_path):
    config = Config(data_dir=tmp_path, database_url="postgresql://tc:s3cret@db.example/tempclock")
    for attempt in (lambda: backup_store(config, tmp_path),
                    lambda: restore_store(config, tmp_path / "x.db")):
        with pytest.raises(BackupError) as refusal:
            attempt()
        assert refusal.value.code == "unsupported"
        assert "pg_dump" in refusal.value.message and "s3cret" not in refusal.value.message


def test_the_cli_backs_up_keeps_a_few_and_restores(tmp_path):
    data = tmp_path / "data"
    folder = tmp_path / "backups"
    folder.mkdir()

    def tc(*args: str, ok: bool = True) -> dict:
        done = run_tempclock([*args, "--json", "--data-dir", str(data)])
        assert (done.returncode == 0) == ok, done.stderr + done.stdout
        return json.loads(done.stdout)

    tc("accounts", "create", "Acme")
    first = tc("db", "backup", str(folder / "first.db"))
    assert first["counts"]["account"] == 1 and first["deleted"] == []
    tc("accounts", "create", "Rival")
    dated = tc("db", "backup", str(folder), "--keep", "1")
    assert Path(dated["path"]).parent == folder
    assert tc("db", "backup", str(folder / "first.db"), ok=False)["code"] == "exists"

    restored = tc("db", "restore", str(folder / "first.db"))
    assert restored["backup"]["counts"]["account"] == 1
    assert Path(restored["replaced"]).exists()
    assert [a["name"] for a in tc("accounts", "list")["accounts"]] == ["Acme"]
    refused = tc("db", "restore", str(folder / "missing.db"), ok=False)
    assert refused == {"error": True, "code": "not_found",
                       "message": f"{folder / 'missing.db'} does not exist or is not a file"}


# What somebody could slip into a backup file: each must be refused with the store untouched.
_TAMPERING = {
    "a trigger that undoes key revocations": (
        "CREATE TRIGGER keep_keys AFTER UPDATE OF revoked_at ON api_key "
        "BEGIN UPDATE api_key SET revoked_at = NULL WHERE id = NEW.id; END"),
    "a view": "CREATE VIEW secrets AS SELECT * FROM api_key",
    "an extra table": "CREATE TABLE notes (text)",
    "an extra index": "CREATE INDEX by_name ON api_key (name)",
    "an altered table": "ALTER TABLE api_key ADD COLUMN note TEXT DEFAULT 'x'",
    "a dropped index": None,
    "a table definition rewritten in place": (
        "PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql, "
        "'revoked_at', 'revoked_at CHECK (revoked_at IS NULL)') WHERE name = 'api_key'"),
    "a key of an account it lacks": (
        "PRAGMA foreign_keys = OFF; INSERT INTO api_key (account_id, name, prefix, key_hash, "
        "scopes, rate_limit, created_at) SELECT 999, name, prefix, key_hash || 'x', scopes, "
        "rate_limit, created_at FROM api_key"),
    "a truncated file": None,
    "not a database at all": None,
}


def _tamper(path: Path, how: str) -> None:
    if how == "a truncated file":
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size // 2)
        return
    if how == "not a database at all":
        path.write_text("first_name,last_name\nAnn,Nowak\n")
        return
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        sql = _TAMPERING[how]
        if how == "a dropped index":
            name = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                              "AND sql IS NOT NULL ORDER BY name").fetchone()[0]
            sql = f'DROP INDEX "{name}"'
        db.executescript(sql)


def _tempclock(data: Path, *args: str) -> subprocess.CompletedProcess:
    """`tempclock *args` on `data`, through its entry point in this process (cli_runs)."""
    return run_tempclock([*args, "--data-dir", str(data)])


@pytest.mark.parametrize("how", list(_TAMPERING))
def test_a_crafted_backup_is_refused_with_one_line_and_the_store_untouched(tmp_path, how):
    data = tmp_path / "data"
    assert _tempclock(data, "accounts", "create", "Acme").returncode == 0
    issued = json.loads(_tempclock(data, "keys", "issue", "--account", "1", "--name", "ATS",
                                   "--json").stdout)
    crafted = tmp_path / "crafted.db"
    assert _tempclock(data, "db", "backup", str(crafted)).returncode == 0
    _tamper(crafted, how)
    before = crafted.read_bytes()

    refused = _tempclock(data, "db", "restore", str(crafted))
    assert refused.returncode == 1, refused.stdout
    assert refused.stderr.startswith("Error: ") and refused.stderr.count("\n") == 1, (
        refused.stderr)
    assert "Traceback" not in refused.stderr
    assert crafted.read_bytes() == before  # the backup file itself is never opened in place
    assert list(data.glob("*before-restore*")) == [] and list(data.glob(".*")) == []

    # The store is as it was: a revoked key stays revoked.
    assert _tempclock(data, "keys", "revoke", str(issued["id"])).returncode == 0
    listed = json.loads(_tempclock(data, "keys", "list", "--json").stdout)
    assert [k["status"] for k in listed["keys"]] == ["Revoked"]


def _store_of_about(data: Path, megabytes: int) -> None:
    """A store at `data` that takes SQLite a moment to copy and check: `megabytes` of logs."""
    assert _tempclock(data, "accounts", "create", "Acme").returncode == 0
    with contextlib.closing(sqlite3.connect(data / "tempclock.db", isolation_level=None)) as db:
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO api_log (account_id, method, path, query, status, duration_ms, client,"
            " user_agent, request_id, created_at, count) VALUES (1, 'GET', '/api/v1/workers',"
            " '', 200, 1.0, '127.0.0.1', ?, 'r', '2026-12-01 08:00:00', 1)",
            (("x" * 1000 + str(n),) for n in range(megabytes * 400)))
        db.execute("COMMIT")


def _stopped_once_begun(args: list[str], begun: Path, how: int) -> subprocess.CompletedProcess:
    """`tempclock *args` as a process, sent signal `how` as soon as `begun` appears."""
    process = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not begun.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(how)
    output, _ = process.communicate(timeout=60)
    return subprocess.CompletedProcess(args, process.returncode, output, "")


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_backup_stopped_by_a_signal_leaves_no_hidden_copy_behind(tmp_path, how):
    """A service manager's SIGTERM (or a closed terminal) killed `tempclock db backup` before
    its cleanup: a hidden `.name.partial` copy of the whole store (staff data) stayed in the
    folder for good, one more for every backup stopped so."""
    data, folder = tmp_path / "data", tmp_path / "backups"
    folder.mkdir()
    _store_of_about(data, 40)
    done = _stopped_once_begun(["db", "backup", str(folder / "b.db"), "--data-dir", str(data)],
                               folder / ".b.db.partial", how)
    assert done.returncode != 0, done.stdout
    assert list(folder.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_a_restore_stopped_by_sigterm_leaves_no_staged_copy_and_a_whole_store(tmp_path):
    data = tmp_path / "data"
    _store_of_about(data, 40)
    backup = tmp_path / "b.db"
    assert _tempclock(data, "db", "backup", str(backup)).returncode == 0
    done = _stopped_once_begun(["db", "restore", str(backup), "--data-dir", str(data)],
                               data / ".tempclock.db.restoring", signal.SIGTERM)
    assert done.returncode != 0, done.stdout
    assert not list(data.glob(".tempclock.db.restoring*"))
    assert rows(data / "tempclock.db", "PRAGMA integrity_check") == [("ok",)]


def test_a_file_that_is_not_sqlite_is_refused_before_it_is_copied_into_the_data_folder(tmp_path):
    """Restoring a file copied it whole into the data folder before looking at it: a large
    file that is no database at all (a sparse 2 GB one took 15 s of disk writes; a bigger one
    filled the disk, and the admin read 'No space left on device')."""
    data = tmp_path / "data"
    assert _tempclock(data, "accounts", "create", "Acme").returncode == 0
    not_a_store = tmp_path / "payroll.db"
    with not_a_store.open("wb") as file:
        file.write(b"first_name,last_name\nAnn,Nowak\n")
        file.truncate(256 * 1024 * 1024)
    staged, watching, seen = data / ".tempclock.db.restoring", threading.Event(), []

    def watch() -> None:
        while not watching.is_set():
            if staged.exists():
                seen.append(staged)
                return
            time.sleep(0.0005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = _tempclock(data, "db", "restore", str(not_a_store))
    finally:
        watching.set()
        watcher.join()
    assert done.returncode != 0
    assert "is not a readable SQLite database" in done.stderr
    assert seen == [], "the file was copied into the data folder before it was checked"


@pytest.mark.parametrize("beside", ["-wal", "-journal"])
def test_a_store_copied_with_its_log_is_restored_as_sqlite_reads_it(tmp_path, beside):
    """A store copied from another PC's data folder while TempClock ran there comes with a
    write-ahead log (or, after a crash, a rollback journal) holding its latest changes.
    Restore copied the file alone and said it succeeded: the latest requests (clock-ins,
    alike) were gone without a word, or a half-written transaction was taken for data."""
    old_pc, new_pc, copied = tmp_path / "old-pc", tmp_path / "new-pc", tmp_path / "usb"
    copied.mkdir()
    assert _tempclock(old_pc, "accounts", "create", "Acme").returncode == 0
    assert _tempclock(new_pc, "accounts", "create", "Other").returncode == 0
    log_a_request = ("INSERT INTO api_log (account_id, method, path, query, status, duration_ms,"
                     " client, user_agent, request_id, created_at, count) VALUES (1, 'GET', "
                     "'/api/v1/workers', '', 200, 1.0, '127.0.0.1', ?, 'r', "
                     "'2026-12-01 08:00:00', 1)")
    db = sqlite3.connect(old_pc / "tempclock.db", isolation_level=None)
    try:
        if beside == "-wal":  # committed, not yet checkpointed into the file
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA wal_autocheckpoint = 0")
            db.execute(log_a_request, ("latest",))
            expected = 1
        else:  # a transaction cut off half-way, its pages in the file: the journal undoes it
            db.execute("PRAGMA journal_mode = DELETE")
            db.execute("PRAGMA cache_size = 1")
            db.execute("BEGIN")
            db.executemany(log_a_request, (("x" * 1000,) for _ in range(3000)))
            expected = 0
        for name in ("tempclock.db", "tempclock.db" + beside):
            shutil.copyfile(old_pc / name, copied / name)
    finally:
        db.close()
    assert (copied / ("tempclock.db" + beside)).stat().st_size > 0
    done = _tempclock(new_pc, "db", "restore", str(copied / "tempclock.db"))
    assert done.returncode == 0, done.stderr
    assert rows(new_pc / "tempclock.db", "SELECT COUNT(*) FROM api_log") == [(expected,)]
    assert _tempclock(new_pc, "accounts", "list").stdout.count("Acme") == 1
