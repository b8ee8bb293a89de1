"""Backups as the admin makes them: now, on a daily schedule keeping the newest few, and restores.

The work is done by the store layer (`tempclock.api.store.backup`: SQLite's online backup API,
verified files, the store lock); here its refusals become domain errors with their
codes, for the desktop and the CLI alike, and the schedule is decided: a scheduled
backup is due when the folder's newest dated backup is a day old, or there is none.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import msgspec

from tempclock.api.config import PRIVATE_DIR, Config
from tempclock.api.services.errors import Conflict, Invalid, NotFound
from tempclock.api.store import backup as store_backup
from tempclock.api.store.backup import Backup, Restored, backup_name

__all__ = ["BackedUp", "Backup", "BackupFile", "Restored", "ScheduledBackups", "back_up",
           "back_up_if_due", "backup_name", "default_folder", "restore", "scheduled_backups",
           "size_in_words", "unsupported"]

DAILY = dt.timedelta(days=1)
DEFAULT_KEEP = 7
_REFUSALS = {"store_in_use": Conflict, "exists": Conflict, "not_found": NotFound}


class BackedUp(msgspec.Struct, kw_only=True):
    """A backup just made, and the older dated backups deleted to keep the newest few."""

    backup: Backup
    deleted: list[str]


class BackupFile(msgspec.Struct, kw_only=True):
    """A dated backup in a folder: when it was taken, and its size."""

    path: str
    taken_at: dt.datetime
    size_bytes: int


class ScheduledBackups(msgspec.Struct, kw_only=True):
    """The dated backups in a folder, newest first."""

    folder: str
    backups: list[BackupFile]

    @property
    def latest_at(self) -> dt.datetime | None:
        return self.backups[0].taken_at if self.backups else None


@contextlib.contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except store_backup.BackupError as error:
        raise _REFUSALS.get(error.code, Invalid)(error.message, code=error.code) from None


def size_in_words(size_bytes: int) -> str:
    """A file size as people read it: "364 KB", "2.1 MB"."""
    if size_bytes >= 1_048_576:
        return f"{size_bytes / 1_048_576:.1f} MB"
    return f"{max(1, round(size_bytes / 1024))} KB"


def unsupported(config: Config) -> str | None:
    """Why this store cannot be backed up here (a PostgreSQL store: use pg_dump), or None."""
    try:
        store_backup.store_file(config)
    except store_backup.BackupError as error:
        return error.message
    return None


def default_folder(config: Config) -> Path:
    """Where scheduled backups go unless the admin chose a folder: `backups` in the data folder."""
    return config.data_dir / "backups"


def back_up(config: Config, destination: Path, *, keep: int | None = None) -> BackedUp:
    """Back up the store to `destination` (a new file, or a folder for a dated file).

    With `keep` and a folder, only the newest `keep` dated backups there are kept.
    Safe while the store is serving.
    """
    destination = Path(destination)
    with _refusals():
        made = store_backup.backup_store(config, destination)
        deleted = (store_backup.prune_backups(destination, keep)
                   if keep is not None and destination.is_dir() else [])
    return BackedUp(backup=made, deleted=[str(p) for p in deleted])


def back_up_if_due(config: Config, folder: Path, *, keep: int = DEFAULT_KEEP,
                   now: dt.datetime | None = None, every: dt.timedelta = DAILY) -> BackedUp | None:
    """The scheduled backup: into `folder` (created if need be) when one is due, else None."""
    folder = Path(folder)
    latest = store_backup.latest_backup_at(folder)
    now = now or dt.datetime.now(dt.UTC)
    if latest is not None and now - latest < every:
        return None
    folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)  # an existing one is the admin's
    return back_up(config, folder, keep=keep)


def scheduled_backups(folder: Path) -> ScheduledBackups:
    """The dated backups in `folder`, newest first."""
    found = []
    for path in store_backup.list_backups(Path(folder)):
        with contextlib.suppress(OSError):  # deleted meanwhile
            found.append(BackupFile(path=str(path), taken_at=store_backup.taken_at(path),
                                    size_bytes=path.stat().st_size))
    return ScheduledBackups(folder=str(folder), backups=found)


def restore(config: Config, source: Path) -> Restored:
    """Replace the store with the backup `source` (refused while another process uses it).

    The calling process must have stopped its own server; the replaced store is kept aside.
    """
    with _refusals():
        return store_backup.restore_store(config, Path(source))
