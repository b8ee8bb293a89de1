"""The store lock: a lock file beside a SQLite store that says "a TempClock process uses it".

Every process that opens the store (the desktop, `tempclock serve`, its dispatcher,
a CLI command) holds the lock shared for as long as the store is open. A restore
takes it exclusively, so it is refused while any other process uses the store, and
a process that opens the store during a restore waits for it to finish.

The lock is `flock(2)` on `<database>.lock`: the kernel drops it when its process
dies, however it dies, so a killed server never leaves the store locked. The file
itself is never deleted (deleting a lock file races with the next process to open it).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; see `_flock`
    fcntl = None  # type: ignore[assignment]

__all__ = ["StoreInUse", "exclusive", "hold", "lock_path", "release", "shared"]

WAIT_FOR_RESTORE_S = 120.0  # a restore copies the store once; this is generous

# The lock file of each store this process holds shared, by the store's path.
_held: dict[Path, int] = {}
_mutex = threading.Lock()


class StoreInUse(Exception):
    """Another process is using the store (or restoring it)."""


def lock_path(database: Path) -> Path:
    """The lock file of the SQLite store at `database`."""
    return database.with_name(database.name + ".lock")


def _flock(fd: int, operation: int) -> bool:
    """Take or change a lock without waiting; False when another process holds a conflicting one."""
    if fcntl is None:  # no advisory locks to check: allow, as before this lock existed
        return True
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _shared() -> int:
    return fcntl.LOCK_SH if fcntl is not None else 0


def _exclusive() -> int:
    return fcntl.LOCK_EX if fcntl is not None else 0


def _open(database: Path) -> int:
    return os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)


def _shared_lock(database: Path, wait: float) -> int:
    """A new lock file descriptor holding the store shared, once no restore is running."""
    fd = _open(database)
    deadline = time.monotonic() + wait
    while not _flock(fd, _shared()):
        if time.monotonic() > deadline:
            os.close(fd)
            raise StoreInUse(f"{database} is being restored from a backup; try again when "
                             "the restore has finished")
        time.sleep(0.05)
    return fd


def hold(database: Path, *, wait: float = WAIT_FOR_RESTORE_S) -> None:
    """Hold the store at `database` shared (once per process), waiting out a restore."""
    database = database.resolve()
    with _mutex:
        if database in _held:
            return
    fd = _shared_lock(database, wait)
    with _mutex:
        if database in _held:  # another thread took it meanwhile
            os.close(fd)
        else:
            _held[database] = fd


def release(database: Path | None = None) -> None:
    """Stop holding the store at `database` (or every store this process holds)."""
    with _mutex:
        paths = list(_held) if database is None else [database.resolve()]
        for path in paths:
            fd = _held.pop(path, None)
            if fd is not None:
                os.close(fd)  # closing the file drops its lock


@contextlib.contextmanager
def shared(database: Path, *, wait: float = WAIT_FOR_RESTORE_S) -> Iterator[None]:
    """Hold the store at `database` shared for a while (a no-op if this process holds it)."""
    database = database.resolve()
    with _mutex:
        mine = database in _held
    if mine:
        yield
        return
    fd = _shared_lock(database, wait)  # its own descriptor: the process's hold is not touched
    try:
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive(database: Path) -> Iterator[None]:
    """Hold the store at `database` alone, or raise `StoreInUse` at once.

    This process's own shared hold does not count (the desktop restores after
    stopping its own server); it is given up meanwhile and taken again after.
    """
    database = database.resolve()
    with _mutex:
        mine = database in _held
    release(database)
    fd = _open(database)
    try:
        if not _flock(fd, _exclusive()):
            raise StoreInUse(f"{database} is in use by a running TempClock (the desktop app, "
                             "`tempclock serve` or its webhook delivery); quit it first")
        yield
    finally:
        os.close(fd)
        if mine:
            hold(database)
