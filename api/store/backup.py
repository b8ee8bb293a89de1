"""Backups of the SQLite store: made online while TempClock serves, restored while nothing uses it.

- `backup_store` copies the store with SQLite's online backup API in one step: one
  read transaction, so the copy is a consistent snapshot, and in WAL mode readers
  never block writers, so the API keeps answering meanwhile. The copy is written
  beside its destination, made a single self-contained file, verified, flushed to
  disk and only then renamed into place: a backup file is whole or absent.
- `verify_backup` checks a file before it is trusted: `PRAGMA integrity_check`,
  `PRAGMA foreign_key_check`, a schema history this version knows (an older one is
  upgraded on restore; a newer one refused), and schema objects (tables, indexes,
  triggers, views) exactly those our migrations create for that history: a crafted
  file carrying, say, a trigger that undoes key revocations is refused.
- `restore_store` is refused while another process uses the store (the store lock,
  `tempclock.api.store.lock`). It verifies a private copy of the backup, keeps the store it
  replaces aside as `<store>.before-restore-<time>`, and copies the backup in
  through SQLite, never by swapping files under open connections.
- Scheduled backups are files named `tempclock-YYYYMMDD-HHMMSS.db` in one folder;
  `prune_backups` keeps the newest few and never touches any other file.

PostgreSQL stores are backed up with PostgreSQL's own tools (`pg_dump`, `pg_restore`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
from peewee import SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Migration, Runner

from tempclock.api.config import Config, private_dir, private_file
from tempclock.api.store import BUSY_TIMEOUT_S, MIGRATIONS_DIR, SQLITE_PRAGMAS, lock, migrate
from tempclock.api.store.models import utcnow

__all__ = [
    "Backup",
    "BackupError",
    "Restored",
    "backup_store",
    "list_backups",
    "prune_backups",
    "restore_store",
    "store_file",
    "taken_at",
    "verify_backup",
]

_NAME = re.compile(r"tempclock-(\d{8}-\d{6})\.db")
_STAMP = "%Y%m%d-%H%M%S"
# What a backup summary counts: table, and its name for one and for many.
_COUNTED = {"account": ("account", "accounts"), "worker": ("worker", "workers"),
            "time_entry": ("time entry", "time entries"), "shift": ("shift", "shifts"),
            "event": ("event", "events")}


class BackupError(Exception):
    """A backup or restore that cannot be done, with a code for `--json`."""

    def __init__(self, message: str, code: str = "backup_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Backup(msgspec.Struct, kw_only=True):
    """A verified backup file: where it is, its size, schema and what it holds."""

    path: str
    size_bytes: int
    migrations: list[str]
    counts: dict[str, int]
    created_at: dt.datetime | None = None  # from a dated backup's name
    pins: int = 0  # kiosk PINs: hashes that need the key they were set with (services.pins)

    @property
    def holds(self) -> str:
        """What it holds, in words: "2 accounts, 142 workers, ..."."""
        return ", ".join(f"{n} {_COUNTED[table][n != 1]}" for table, n in self.counts.items())


class Restored(msgspec.Struct, kw_only=True):
    """A finished restore: the store, the backup it now holds, and where the old store went."""

    store: str
    backup: Backup
    replaced: str | None  # None when there was no store to replace
    upgraded: list[str]  # migrations applied to bring an older backup up to date


# --- where the store is ---------------------------------------------------------------


def store_file(config: Config) -> Path:
    """The SQLite file of the configured store; PostgreSQL stores are refused with advice."""
    if config.database_url is None:
        return config.sqlite_path
    if not config.uses_sqlite:
        raise BackupError(
            f"{config.database_label} is a PostgreSQL store: back it up with PostgreSQL's own "
            "tools (pg_dump -Fc -f tempclock.dump DBNAME; restore with pg_restore --clean "
            "-d DBNAME tempclock.dump), which are safe while TempClock serves.",
            "unsupported")
    name = db_url.parse(config.database_url)["database"]
    if not name or name == ":memory:":
        raise BackupError("An in-memory store cannot be backed up", "unsupported")
    return Path(name).expanduser().resolve()


def _related(path: Path) -> list[Path]:
    """The file and the journal files SQLite may keep beside it."""
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


@contextlib.contextmanager
def _connection(path: Path) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


@contextlib.contextmanager
def _sqlite_errors(doing: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as error:
        raise BackupError(f"{doing}: {error}", "database_error") from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(source: Path, target: Path) -> None:
    """Copy the database `source` into `target` through SQLite, in one step.

    One step is one read transaction on the source: a consistent snapshot that
    concurrent writers neither block nor restart.
    """
    with _connection(source) as src, _connection(target) as dst:
        src.backup(dst)


# --- checking a backup ----------------------------------------------------------------


def _known_migrations() -> list[str]:
    return [m.name for m in Migration.load_directory(str(MIGRATIONS_DIR))]


def verify_backup(path: Path, *, shown: Path | None = None) -> Backup:
    """Check that `path` is a whole TempClock store this version can use; its summary.

    Opens the file, so pass a copy when the file must stay untouched (and the original
    as `shown`, the file the messages name).
    """
    path = Path(path)
    shown = path if shown is None else shown
    if not path.is_file():
        raise BackupError(f"{shown} does not exist or is not a file", "not_found")
    try:
        with _connection(path) as db:
            _check_integrity(shown, db)
            applied = _schema_history(shown, db)
            _check_schema(shown, db, applied)
            _check_references(shown, db)
            tables = {row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            counts = {name: db.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]  # noqa: S608
                      for name in _COUNTED if name in tables}  # fixed table names, not input
            pins = (db.execute("SELECT COUNT(*) FROM worker_pin").fetchone()[0]
                    if "worker_pin" in tables else 0)
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{shown} is not a readable SQLite database ({error})",
                          "not_a_backup") from None
    return Backup(path=str(path), size_bytes=path.stat().st_size, migrations=list(applied),
                  counts=counts, created_at=taken_at(path), pins=pins)


_SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database


def _check_sqlite_header(path: Path) -> None:
    """Refuse a file that does not begin as an SQLite database, reading only its start."""
    try:
        with path.open("rb") as file:
            start = file.read(len(_SQLITE_HEADER))
    except OSError as error:
        raise BackupError(f"{path} cannot be read ({error.strerror})", "not_found") from None
    if start != _SQLITE_HEADER:
        raise BackupError(f"{path} is not a readable SQLite database (file is not a database)",
                          "not_a_backup")


def _check_integrity(path: Path, db: sqlite3.Connection) -> None:
    problems = [row[0] for row in db.execute("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise BackupError(f"{path} is damaged (integrity check: {'; '.join(problems[:5])})",
                          "backup_damaged")


def _schema_history(path: Path, db: sqlite3.Connection) -> tuple[str, ...]:
    """The migrations the file says were applied: a beginning of ours, in order."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_migration" not in tables:
        raise BackupError(f"{path} is not a TempClock store (no schema history)", "not_a_backup")
    applied = tuple(row[0] for row in db.execute(
        "SELECT name FROM schema_migration ORDER BY name"))
    known = _known_migrations()
    newer = sorted(set(applied) - set(known))
    if newer:
        raise BackupError(f"{path} was made by a newer TempClock (schema {', '.join(newer)}); "
                          "upgrade TempClock before restoring it", "backup_too_new")
    if list(applied) != known[:len(applied)]:
        raise BackupError(f"{path} has a schema history TempClock never wrote (applied: "
                          f"{', '.join(applied) or 'none'})", "backup_damaged")
    return applied


def _check_schema(path: Path, db: sqlite3.Connection, applied: tuple[str, ...]) -> None:
    """Refuse a file whose schema objects are not exactly those of its schema history."""
    found, expected = _schema_of(db), _reference_schema(applied)
    if found == expected:
        return
    differences = ([f"unexpected {kind} {name}" for kind, name, *_ in sorted(found - expected)]
                   + [f"missing or altered {kind} {name}"
                      for kind, name, *_ in sorted(expected - found)])
    raise BackupError(f"{path} is not a store as TempClock makes it, so it is not restored: "
                      f"{'; '.join(dict.fromkeys(differences))}", "backup_altered")


def _check_references(path: Path, db: sqlite3.Connection) -> None:
    broken = db.execute("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise BackupError(f"{path} is damaged: {len(broken)} rows of {', '.join(tables)} refer "
                          "to rows it lacks", "backup_damaged")


_SPACE = re.compile(r"\s+")


def _schema_of(db: sqlite3.Connection) -> set[tuple[str, str, str, str]]:
    """Each schema object as its type, name, table and SQL (spacing normalised).

    SQLite's own statistics tables (written by ANALYZE) are not part of the schema.
    """
    return {(kind, name, table, _SPACE.sub(" ", sql or "").strip())
            for kind, name, table, sql in db.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master")
            if not name.startswith("sqlite_stat")}


@functools.lru_cache(maxsize=8)
def _reference_schema(applied: tuple[str, ...]) -> frozenset[tuple[str, str, str, str]]:
    """The schema objects our migrations create, up to the last of `applied`."""
    reference = SqliteDatabase(":memory:")
    with reference.connection_context():
        if applied:
            Runner(reference, str(MIGRATIONS_DIR)).up(target=applied[-1])
        else:
            Runner(reference, str(MIGRATIONS_DIR)).History.create_table()
        return frozenset(_schema_of(reference.connection()))


def taken_at(path: Path) -> dt.datetime | None:
    """When a dated backup was taken, from its name (UTC); None for other names."""
    match = _NAME.fullmatch(path.name)
    return None if match is None else dt.datetime.strptime(match.group(1), _STAMP).replace(
        tzinfo=dt.UTC)


# --- making one -----------------------------------------------------------------------


def backup_name(now: dt.datetime | None = None) -> str:
    """The file name of a backup taken at `now` (UTC): `tempclock-YYYYMMDD-HHMMSS.db`."""
    now = now or utcnow()
    return f"tempclock-{now.strftime(_STAMP)}.db"


def backup_store(config: Config, destination: Path, *, now: dt.datetime | None = None) -> Backup:
    """Back up the store to `destination` (a new file, or a folder to put a dated file in).

    Safe while the store is serving. The file appears only once it is complete,
    verified and on disk.
    """
    source = store_file(config)
    if not source.is_file():
        raise BackupError(f"There is no store at {source} to back up", "not_found")
    destination = Path(destination).expanduser()
    if destination.is_dir():
        destination = destination / backup_name(now)
    destination = destination.resolve()
    if destination in _related(source):
        raise BackupError("A backup cannot be written over the store itself", "invalid")
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose a new name or folder",
                          "exists")
    if not destination.parent.is_dir():
        raise BackupError(f"The folder {destination.parent} does not exist", "not_found")
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        with _sqlite_errors("The backup failed"):
            with lock.shared(source):
                _copy(source, private_file(partial))
            with _connection(partial) as copy:
                # The copy is in WAL mode like the store; a backup is one self-contained file.
                copy.execute("PRAGMA journal_mode = DELETE")
        verified = verify_backup(partial, shown=destination)
        _fsync(partial)
        partial.replace(destination)
        with contextlib.suppress(OSError):  # not every platform can open a directory
            _fsync(destination.parent)
    finally:
        for path in _related(partial):
            path.unlink(missing_ok=True)
    verified.path, verified.created_at = str(destination), taken_at(destination)
    return verified


# --- restoring one --------------------------------------------------------------------


def restore_store(config: Config, source: Path, *, now: dt.datetime | None = None) -> Restored:
    """Replace the store's contents with the backup `source`.

    Refused (`store_in_use`) while another process uses the store; the calling
    process must have stopped its own server. The replaced store is kept aside.
    """
    target = store_file(config)
    source = Path(source).expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file", "not_found")
    if source in _related(target):
        raise BackupError("That file is the store itself, not a backup of it", "invalid")
    _check_sqlite_header(source)  # before a byte of it is copied: it may be any size
    private_dir(target.parent)
    try:
        with _sqlite_errors("The restore failed"), lock.exclusive(target):
            staged = target.with_name(f".{target.name}.restoring")
            try:
                # Verify and copy from a private copy: the backup file is never opened in
                # place, and what is checked is exactly what is restored.
                _stage(source, staged)
                verified = verify_backup(staged, shown=source)
                replaced = None
                if target.exists():
                    stamp = (now or utcnow()).strftime(_STAMP)
                    replaced = target.with_name(f"{target.name}.before-restore-{stamp}")
                    _copy(target, private_file(replaced))
                    with _connection(replaced) as old:
                        old.execute("PRAGMA journal_mode = DELETE")
                    _fsync(replaced)
                _copy(staged, private_file(target))
            finally:
                for path in _related(staged):
                    path.unlink(missing_ok=True)
            upgraded = _upgrade(target)
    except lock.StoreInUse as error:
        raise BackupError(str(error), "store_in_use") from None
    verified.path, verified.created_at = str(source), taken_at(source)
    return Restored(store=str(target), backup=verified,
                    replaced=None if replaced is None else str(replaced), upgraded=upgraded)


def _stage(source: Path, staged: Path) -> None:
    """Copy `source` to `staged` with the log SQLite keeps beside it, if any: a store copied
    from a running TempClock has its latest changes in its write-ahead log (`-wal`), one
    copied after a crash a half-written transaction its journal (`-journal`) undoes. SQLite
    reads the staged copy as it would the original: with those changes, without that one."""
    shutil.copyfile(source, private_file(staged))
    for beside, staged_beside in zip(_related(source)[1:], _related(staged)[1:], strict=True):
        if beside.is_file() and not beside.name.endswith("-shm"):  # -shm: rebuilt from -wal
            shutil.copyfile(beside, private_file(staged_beside))


def _upgrade(path: Path) -> list[str]:
    """Apply the migrations an older backup lacks."""
    db = SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_S,
                        lock_type="IMMEDIATE")
    try:
        with db.connection_context():
            return migrate(db)
    finally:
        db.close()


# --- a folder of scheduled backups --------------------------------------------------------


def list_backups(directory: Path) -> list[Path]:
    """The dated backup files in `directory`, newest first (other files are ignored)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [p for p in directory.iterdir() if _NAME.fullmatch(p.name) and p.is_file()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def latest_backup_at(directory: Path) -> dt.datetime | None:
    """When the newest dated backup in `directory` was taken (UTC), or None."""
    found = list_backups(directory)
    return taken_at(found[0]) if found else None


_PARTIAL = re.compile(rf"\.({_NAME.pattern})\.partial(-journal)?")
ABANDONED_AFTER = dt.timedelta(days=1)  # no backup takes this long to write


def prune_backups(directory: Path, keep: int, *, now: dt.datetime | None = None) -> list[Path]:
    """Delete all but the newest `keep` dated backups in `directory`, and the half-written
    copies of dated backups begun more than a day before `now` (abandoned: the process
    writing them was killed); returns those deleted."""
    if keep < 1:
        raise BackupError("Keep at least one backup", "invalid")
    removed = list_backups(directory)[keep:] + _abandoned_partials(Path(directory), now)
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _abandoned_partials(directory: Path, now: dt.datetime | None) -> list[Path]:
    now = now or utcnow()
    cutoff = (now if now.tzinfo else now.replace(tzinfo=dt.UTC)) - ABANDONED_AFTER
    found = []
    for path in directory.iterdir() if directory.is_dir() else ():
        match = _PARTIAL.fullmatch(path.name)
        begun = match and taken_at(Path(match.group(1)))
        if begun and begun < cutoff and path.is_file():
            found.append(path)
    return found
