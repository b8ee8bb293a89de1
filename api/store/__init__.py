"""Opening the store: one database per process, bound to the models, migrated on open.

SQLite (the default) runs in WAL mode with foreign keys on, a busy timeout,
`synchronous=FULL` so an acknowledged write survives a power cut, and every
write transaction started as `BEGIN IMMEDIATE` so writers queue instead of
failing half way (in the kernel, on a lock file: `write_turn`; and ask again past
the busy timeout: `_SqliteWritersQueue`). `TEMPCLOCK_DATABASE_URL` switches to any
playhouse `db_url`; on PostgreSQL a write transaction likewise starts by taking one
lock (see `_WritersQueue`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from peewee import Database, OperationalError, PostgresqlDatabase, SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner

from tempclock.api.config import Config, make_private, private_dir, private_file
from tempclock.api.store import checkpoints, lock
from tempclock.api.store.models import MODELS, database
from tempclock.api.store.write_turn import WriteTurns

__all__ = ["MODELS", "close_store", "data_dir", "database", "is_postgres", "migrate",
           "open_store", "write_behind"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "full",
    "busy_timeout": BUSY_TIMEOUT_S * 1000,
    "cache_size": -32_000,  # 32 MB page cache per connection
    # Savepoint journals in memory: a group commit runs each request in a savepoint, and
    # a clock action touches ~15 pages, so the journal kept spilling to a temp file (about
    # 30 writes per action, a fifth of its CPU). Sorts of a bounded page stay small.
    "temp_store": "memory",
}


WRITE_LOCK = 72_616_001  # the PostgreSQL advisory lock every write transaction takes first


class _WritersQueue:
    """PostgreSQL's `BEGIN IMMEDIATE`: every transaction takes `WRITE_LOCK` first.

    Writers queue as they do on SQLite, so outbox ids follow commit order (the
    dispatcher and `/events` read them by id), and since every writer takes this lock
    before any row lock, writers in several processes never deadlock. Readers never
    wait for it (they run outside transactions).
    """

    def begin(self, *args, **kwargs) -> None:
        super().begin(*args, **kwargs)
        self.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))


# In WAL mode a commit then returns without waiting for the disk; the transaction is
# durable once any later commit that waits (all the others) or a checkpoint has synced.
WRITE_BEHIND = "PRAGMA synchronous = NORMAL"
WRITER_PATIENCE_S = 600  # how long a writer keeps asking SQLite for its lock before it fails


class _SqliteWritersQueue(SqliteDatabase):
    """SQLite whose write transactions wait their turn however long the queue.

    Each first takes its writer's turn (`tempclock.api.store.write_turn`: woken the
    moment the writer ahead ends, where SQLite's busy handler sleeps in growing steps).
    SQLite's own lock still decides: its busy handler lets waiters poll, and a writer
    that commits and writes again takes the lock back before the sleepers wake, so under
    load one writer could wait out the busy timeout and fail with "database is locked"
    while others kept writing (a writer outside the turns, say). Nothing is done before
    `BEGIN IMMEDIATE` holds the lock, so asking again is safe.
    """

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        self._turns = (WriteTurns(Path(database)) if database and database != ":memory:"
                       else None)

    def _add_conn_hooks(self, conn) -> None:
        super()._add_conn_hooks(conn)
        if getattr(_writing_behind, "on", False):
            _sync_less(conn)
        if not checkpoints.checkpoints_on_commit():
            conn.execute(checkpoints.NO_CHECKPOINT_ON_COMMIT)

    def begin(self, lock_type=None) -> None:
        if self._turns is not None:
            self._turns.take()
        deadline = time.monotonic() + WRITER_PATIENCE_S
        while True:
            try:
                super().begin(lock_type)
                return
            except OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    self._end_turn()
                    raise
            except BaseException:
                self._end_turn()
                raise

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            conn = self._state.conn
            if conn is None or not conn.in_transaction:  # a failed COMMIT: rollback ends it
                self._end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def _close(self, conn) -> None:
        try:
            super()._close(conn)  # SQLite rolls back what was open
        finally:
            self._end_turn()

    @contextlib.contextmanager
    def writers_paused(self) -> Iterator[None]:
        """Hold the writers' turn outside a transaction (writers that take turns wait)."""
        if self._turns is None:
            yield
            return
        self._turns.take()
        try:
            yield
        finally:
            self._turns.give_back()

    def _end_turn(self) -> None:
        if self._turns is not None:
            self._turns.give_back()


_queued_classes: dict[type, type] = {}
BIGINT = range(-(2**63), 2**63)


def _refuse_numbers_beyond_bigint() -> None:
    """Make psycopg2 refuse an int no column can hold, with OverflowError as sqlite3 does.

    Otherwise PostgreSQL compares it as a NUMERIC and answers "not found" where SQLite
    says "out of range" (the API maps OverflowError to a 400).
    """
    try:
        from psycopg2.extensions import ISQLQuote, adapters, register_adapter
    except ImportError:  # another driver; peewee reports a missing one when connecting
        return
    plain = adapters[(int, ISQLQuote)]
    if getattr(plain, "checks_bigint", False):
        return

    def adapt(value: int):
        if value not in BIGINT:
            raise OverflowError("Python int too large to convert to PostgreSQL BIGINT")
        return plain(value)

    adapt.checks_bigint = True  # type: ignore[attr-defined]
    register_adapter(int, adapt)


def _queued(db: PostgresqlDatabase, url: str) -> PostgresqlDatabase:
    _refuse_numbers_beyond_bigint()
    base = type(db)
    cls = _queued_classes.get(base) or _queued_classes.setdefault(
        base, type(f"Queued{base.__name__}", (_WritersQueue, base), {}))
    return cls(**db_url.parse(url))


def _connect(config: Config) -> Database:
    if config.database_url is None:
        private_dir(config.data_dir)
        make_private(config.data_dir)  # a directory an older version made readable to all
        private_file(config.sqlite_path)
        return _SqliteWritersQueue(
            str(config.sqlite_path),
            pragmas=SQLITE_PRAGMAS,
            timeout=BUSY_TIMEOUT_S,
            lock_type="IMMEDIATE",
        )
    db = db_url.connect(config.database_url)
    if isinstance(db, PostgresqlDatabase):
        return _queued(db, config.database_url)
    if isinstance(db, SqliteDatabase):
        # A sqlite:// URL gets the same durability settings and privacy as the default file.
        if db.database not in ("", ":memory:") and Path(db.database).parent.is_dir():
            private_file(Path(db.database))
        db = _SqliteWritersQueue(
            db.database, pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_S, lock_type="IMMEDIATE"
        )
    return db


def write_behind() -> None:
    """Let the calling thread's commits skip waiting for the disk (SQLite; a no-op on
    PostgreSQL), for writes nobody waits on and a power cut may lose anyway: the API's
    request logs, held in memory for a quarter of a second before they are written.

    Its commits survive the process being killed; a power cut may lose those not yet
    synced by a later commit of another writer (each of which waits for the disk, as
    every acknowledged write does), a checkpoint or the system's own write-back. The
    store's write lock is then held for the insert alone, not the insert and a sync of
    the disk as well: 5-30 ms fewer each time that a kiosk punch or an API write could
    wait behind (bench/kiosk_punches.py).
    """
    _writing_behind.on = True  # for every connection the thread opens from now on
    db = database.obj
    if isinstance(db, _SqliteWritersQueue) and not db.is_closed():
        _sync_less(db.connection())


_writing_behind = threading.local()


def _sync_less(conn) -> None:
    # Only in WAL mode: with a rollback journal, NORMAL risks the file itself on a power cut.
    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        conn.execute(WRITE_BEHIND)


def open_store(config: Config, *, upgrade: bool = True) -> Database:
    """Bind the models to the configured database and apply pending migrations."""
    close_store()
    db = _connect(config)
    if isinstance(db, SqliteDatabase) and db.database != ":memory:":
        # Held while the store is open, so a restore never overwrites it under us (lock.py).
        lock.hold(Path(db.database))
    database.initialize(db)
    _opened["data_dir"] = config.data_dir
    db.connect(reuse_if_open=True)
    if upgrade:
        migrate(db)
    return db


_opened: dict[str, Path] = {}


def data_dir() -> Path:
    """The data directory of the store this process opened (files kept beside the database,
    such as the kiosk PIN secret, live there)."""
    try:
        return _opened["data_dir"]
    except KeyError:
        raise RuntimeError("the store is not open") from None


def migrate(db: Database | None = None) -> list[str]:
    """Apply every pending migration in order; returns the names applied."""
    db = db or database.obj
    applied = Runner(db, str(MIGRATIONS_DIR)).up()
    for name in applied:
        log.info("applied migration %s", name)
    return applied


def close_store() -> None:
    """Close this thread's connection and unbind the models."""
    db = database.obj
    if db is not None and not db.is_closed():
        db.close()
    database.initialize(None)
    lock.release()


def is_postgres() -> bool:
    return isinstance(database.obj, PostgresqlDatabase)
