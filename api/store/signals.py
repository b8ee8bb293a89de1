"""Change signals: a file beside a SQLite store that says "something you remember has changed".

Every process on a SQLite store shares its directory, so a writer can tell the others
that, say, a key was revoked: after its commit it writes a fresh random token into
`<database>.<name>`. A reader keeps that file mapped into memory and compares the
token with the one it last saw (a memory read, no system call), going back to the
database only when it moved. The database stays the truth: the token only says when
to look again, and a reader looks again at least every `RECHECK_S` anyway (mapping
the file afresh if it was replaced), so a writer that died between its commit and its
signal delays nobody for long.

PostgreSQL stores (and in-memory ones) have no such directory: there the reader asks
the database every time.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from peewee import SqliteDatabase

__all__ = ["RECHECK_S", "TOKEN_SIZE", "Watched", "announce", "signal_path"]

RECHECK_S = 1.0
TOKEN_SIZE = 8


def signal_path(db: Any, name: str) -> str | None:
    """The signal file `name` of store `db`, or None where signals are not used."""
    if not isinstance(db, SqliteDatabase) or db.database in ("", ":memory:"):
        return None
    return f"{db.database}.{name}"


def _write_token(path: str) -> None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, os.urandom(TOKEN_SIZE))
    finally:
        os.close(fd)


def announce(db: Any, name: str) -> None:
    """Tell every process on store `db` that `name` changed (call it after the commit)."""
    path = signal_path(db, name)
    if path is not None:
        _write_token(path)


def _mapping(path: str) -> tuple[mmap.mmap, int] | None:
    """The signal file mapped read-only, and its inode; None if it cannot be."""
    try:
        if not os.path.exists(path) or os.path.getsize(path) < TOKEN_SIZE:
            _write_token(path)
        with open(path, "rb") as signal:
            return (mmap.mmap(signal.fileno(), TOKEN_SIZE, access=mmap.ACCESS_READ),
                    os.fstat(signal.fileno()).st_ino)
    except (OSError, ValueError):
        return None


class _Seen(NamedTuple):
    db: Any
    mapping: mmap.mmap
    inode: int
    token: bytes
    value: Any
    read_at: float


class Watched:
    """A value read from the store only when signal `name` moved, or `RECHECK_S` passed.

        generation = Watched("keys", keys.key_generation)
        generation.get(db)  # a memory read when nothing changed; `read()` otherwise
    """

    def __init__(self, name: str, read: Callable[[], Any]) -> None:
        self.name = name
        self.read = read
        self._seen: _Seen | None = None
        self._lock = threading.Lock()

    def get(self, db: Any) -> Any:
        """The value for store `db`: remembered, or read again if the signal moved."""
        seen = self._seen
        if (seen is not None and seen.db is db and seen.mapping[:TOKEN_SIZE] == seen.token
                and time.monotonic() - seen.read_at < RECHECK_S):
            return seen.value
        return self._refresh(db)

    def _refresh(self, db: Any) -> Any:
        path = signal_path(db, self.name)
        if path is None:
            return self.read()
        with self._lock:
            seen = self._seen
            mapping = inode = None
            if seen is not None and seen.db is db:
                with contextlib.suppress(OSError):
                    if os.stat(path).st_ino == seen.inode:  # not replaced: keep the map
                        mapping, inode = seen.mapping, seen.inode
            if mapping is None:
                mapped = _mapping(path)
                if mapped is None:
                    return self.read()
                mapping, inode = mapped
            now = time.monotonic()
            token = mapping[:TOKEN_SIZE]  # before the read: a change after it moves it again
            value = self.read()
            self._seen = _Seen(db, mapping, inode, token, value, now)
            return value
