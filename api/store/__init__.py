"""Opening the store: one database per process, bound to the models, migrated on open.

SQLite (the default) runs in WAL mode with foreign keys on, a busy timeout,
`synchronous=FULL` so an acknowledged write survives a power cut, and every
write transaction started as `BEGIN IMMEDIATE` so writers queue instead of
failing half way. `TEMPCLOCK_DATABASE_URL` switches to any playhouse `db_url`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse import db_url
from playhouse.migrations import Runner

from api.config import Config
from api.store import lock
from api.store.models import MODELS, database

__all__ = ["MODELS", "close_store", "database", "is_postgres", "migrate", "open_store"]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_S = 30

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "full",
    "busy_timeout": BUSY_TIMEOUT_S * 1000,
    "cache_size": -32_000,  # 32 MB page cache per connection
}


def _connect(config: Config) -> Database:
    if config.database_url is None:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(
            str(config.sqlite_path),
            pragmas=SQLITE_PRAGMAS,
            timeout=BUSY_TIMEOUT_S,
            lock_type="IMMEDIATE",
        )
    db = db_url.connect(config.database_url)
    if isinstance(db, SqliteDatabase):
        # A sqlite:// URL gets the same durability settings as the default file.
        db = SqliteDatabase(
            db.database, pragmas=SQLITE_PRAGMAS, timeout=BUSY_TIMEOUT_S, lock_type="IMMEDIATE"
        )
    return db


def open_store(config: Config, *, upgrade: bool = True) -> Database:
    """Bind the models to the configured database and apply pending migrations."""
    close_store()
    db = _connect(config)
    if isinstance(db, SqliteDatabase) and db.database != ":memory:":
        # Held while the store is open, so a restore never overwrites it under us (lock.py).
        lock.hold(Path(db.database))
    database.initialize(db)
    db.connect(reuse_if_open=True)
    if upgrade:
        migrate(db)
    return db


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
