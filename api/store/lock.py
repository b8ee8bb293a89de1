"""The store lock: a lock file beside a SQLite store that says "a TempClock process uses it".

Every process that opens the store (the desktop, `tempclock serve`, its dispatcher,
a CLI command) holds the lock shared for as long as the store is open. A restore
takes it exclusively, so it is refused while any other process uses the store, and
a process that opens the store during a restore waits for it to finish.

The lock is taken on `<database>.lock` through portalocker: `flock(2)` on POSIX,
`LockFileEx` on Windows, both shared or exclusive, and both dropped by the system when
their process dies, however it dies, so a killed server never leaves the store locked.
The file itself is never deleted (deleting a lock file races with the next process to
open it).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO


def _import_portalocker() -> ModuleType:
    """portalocker, imported without its optional Redis lock.

    When the redis client is installed (the `redis` extra, for `serve --workers`),
    `import portalocker` imports all of it for a `RedisLock` the store never uses: a
    tenth of a second or more of every desktop start-up (bench/desktop_cold_start.py).
    redis is hidden for that one import; portalocker then offers a stub `RedisLock`, and
    redis itself imports normally afterwards. tests/api/test_store_lock_imports.py fails
    if an upgrade makes portalocker need it.
    """
    if "portalocker" in sys.modules or "redis" in sys.modules:
        return importlib.import_module("portalocker")
    sys.modules["redis"] = None  # type: ignore[assignment]  # import redis → ImportError
    try:
        return importlib.import_module("portalocker")
    finally:
        if sys.modules.get("redis", ...) is None:
            del sys.modules["redis"]


portalocker = _import_portalocker()

__all__ = ["StoreInUse", "exclusive", "hold", "lock_path", "release", "shared"]

WAIT_FOR_RESTORE_S = 120.0  # a restore copies the store once; this is generous

_SHARED = portalocker.LockFlags.SHARED | portalocker.LockFlags.NON_BLOCKING
_EXCLUSIVE = portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING

# The lock file of each store this process holds shared, by the store's path.
_held: dict[Path, BinaryIO] = {}
_mutex = threading.Lock()


class StoreInUse(Exception):
    """Another process is using the store (or restoring it)."""


def lock_path(database: Path) -> Path:
    """The lock file of the SQLite store at `database`."""
    return database.with_name(database.name + ".lock")


def _lock(file: BinaryIO, flags: portalocker.LockFlags) -> bool:
    """Take or change a lock without waiting; False when another process holds a conflicting one."""
    try:
        portalocker.lock(file, flags)
    except portalocker.exceptions.LockException:
        return False
    return True


def _open(database: Path) -> BinaryIO:
    return os.fdopen(os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600), "r+b")


def _shared_lock(database: Path, wait: float) -> BinaryIO:
    """A newly opened lock file holding the store shared, once no restore is running."""
    file = _open(database)
    deadline = time.monotonic() + wait
    while not _lock(file, _SHARED):
        if time.monotonic() > deadline:
            file.close()
            raise StoreInUse(f"{database} is being restored from a backup; try again when "
                             "the restore has finished")
        time.sleep(0.05)
    return file


def hold(database: Path, *, wait: float = WAIT_FOR_RESTORE_S) -> None:
    """Hold the store at `database` shared (once per process), waiting out a restore."""
    database = database.resolve()
    with _mutex:
        if database in _held:
            return
    file = _shared_lock(database, wait)
    with _mutex:
        if database in _held:  # another thread took it meanwhile
            file.close()
        else:
            _held[database] = file


def release(database: Path | None = None) -> None:
    """Stop holding the store at `database` (or every store this process holds)."""
    with _mutex:
        paths = list(_held) if database is None else [database.resolve()]
        for path in paths:
            file = _held.pop(path, None)
            if file is not None:
                file.close()  # closing the file drops its lock


@contextlib.contextmanager
def shared(database: Path, *, wait: float = WAIT_FOR_RESTORE_S) -> Iterator[None]:
    """Hold the store at `database` shared for a while (a no-op if this process holds it)."""
    database = database.resolve()
    with _mutex:
        mine = database in _held
    if mine:
        yield
        return
    file = _shared_lock(database, wait)  # its own file: the process's hold is not touched
    try:
        yield
    finally:
        file.close()


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
    file = _open(database)
    try:
        if not _lock(file, _EXCLUSIVE):
            raise StoreInUse(f"{database} is in use by a running TempClock (the desktop app, "
                             "`tempclock serve` or its webhook delivery); quit it first")
        yield
    finally:
        file.close()
        if mine:
            hold(database)
