"""Writers' turns on a SQLite store: a lock file every write transaction holds, so
writers queue in the kernel rather than in SQLite's busy handler.

SQLite's busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms ... between
looks at a held write lock, so a writer that finds it held for 12 ms waits 18, and one
that finds it held for 40 ms waits 53: a kiosk punch beside the API's log writer met
that on one transaction in four, and it made the kiosk's p99 (bench/kiosk_punches.py).
A writer that first takes `<database>.writers` exclusively (`flock(2)` on POSIX,
`LockFileEx` on Windows, through portalocker, as `tempclock.api.store.lock` does)
sleeps in the kernel until the writer ahead of it ends its transaction and is woken
then; `BEGIN IMMEDIATE` after it finds the store free. Writers that do not take a turn
(a statement outside a transaction, another program) still meet SQLite's own lock, so
the store is as safe without the file as with it; the turn only makes the wait exact.

The lock is taken through a file opened by each thread (each thread has its own SQLite
connection, and `flock` locks conflict between open files, not between threads), and
the system drops it when its process dies, however it dies.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import BinaryIO

from tempclock.api.store.lock import portalocker

_EXCLUSIVE = portalocker.LockFlags.EXCLUSIVE  # blocking: woken when the holder lets go


def turn_path(database: Path) -> Path:
    """The lock file writers of the SQLite store at `database` queue on."""
    return database.with_name(database.name + ".writers")


class WriteTurns:
    """The turns of one store's writers in this process: `take` before `BEGIN IMMEDIATE`,
    `give_back` when the transaction ends (commit, rollback or a closed connection)."""

    def __init__(self, database: Path) -> None:
        self.path = turn_path(database)
        self._threads = threading.local()  # each thread's lock file, and whether it holds it

    def take(self) -> None:
        """Wait for this thread's turn to write (at once when nobody else writes)."""
        mine = self._threads
        if getattr(mine, "holding", False):
            return
        try:
            file: BinaryIO | None = getattr(mine, "file", None)
            if file is None:
                file = mine.file = os.fdopen(
                    os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), "r+b")
            portalocker.lock(file, _EXCLUSIVE)
        except (OSError, portalocker.exceptions.LockException):
            # No file (a read-only data directory) or a locker that gives up (msvcrt's,
            # after 10 s): the writer goes without a turn and SQLite's lock still holds.
            return
        mine.holding = True

    def give_back(self) -> None:
        """End this thread's turn (nothing when it holds none)."""
        mine = self._threads
        if getattr(mine, "holding", False):
            mine.holding = False
            portalocker.unlock(mine.file)
