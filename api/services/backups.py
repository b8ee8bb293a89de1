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
from tempclock.api.services import pins
from tempclock.api.services.errors import Conflict, Invalid, NotFound
from tempclock.api.store import backup as store_backup
from tempclock.api.store.backup import Backup, Restored, backup_name

__all__ = ["BackedUp", "Backup", "BackupFile", "Restored", "RestoredWithKey",
           "ScheduledBackups", "back_up", "back_up_if_due", "backup_name", "default_folder",
           "pin_key_note", "restore", "scheduled_backups", "size_in_words", "unsupported"]

DAILY = dt.timedelta(days=1)
DEFAULT_KEEP = 7
_REFUSALS = {"store_in_use": Conflict, "exists": Conflict, "not_found": NotFound}


class BackedUp(msgspec.Struct, kw_only=True):
    """A backup just made, and the older dated backups deleted to keep the newest few."""

    backup: Backup
    deleted: list[str]
    pin_key: str | None = None  # the copy of the kiosk PIN key beside it (pins.key_beside)


class RestoredWithKey(Restored, kw_only=True):
    """A finished restore, and what it did with the kiosk PIN key (`pins.restore_key`)."""

    pin_key: str = "none"  # restored | same | missing | damaged | none
    pin_key_kept_as: str | None = None  # this folder's own key, when the backup's replaced it


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
        # The PINs in it are worth nothing without their key: it goes beside the backup.
        key = pins.copy_key_beside(config.data_dir, Path(made.path))
        deleted = (store_backup.prune_backups(destination, keep)
                   if keep is not None and destination.is_dir() else [])
    for path in deleted:
        pins.key_beside(path).unlink(missing_ok=True)
    return BackedUp(backup=made, deleted=[str(p) for p in deleted],
                    pin_key=None if key is None else str(key))


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


def restore(config: Config, source: Path) -> RestoredWithKey:
    """Replace the store with the backup `source` (refused while another process uses it).

    The calling process must have stopped its own server; the replaced store is kept aside.
    """
    now = dt.datetime.now(dt.UTC)
    with _refusals():
        restored = store_backup.restore_store(config, Path(source), now=now)
    key = pins.restore_key(config.data_dir, Path(source).expanduser().resolve(),
                           holds_pins=restored.backup.pins > 0,
                           stamp=now.strftime("%Y%m%d-%H%M%S"))
    return RestoredWithKey(**msgspec.structs.asdict(restored), pin_key=key.outcome,
                           pin_key_kept_as=None if key.kept_as is None else str(key.kept_as))


def pin_key_note(restored: RestoredWithKey) -> str | None:
    """What the admin must know about the kiosk PIN key after `restore`, in words (or None)."""
    outcome, kept = restored.pin_key, restored.pin_key_kept_as
    beside = pins.key_beside(Path(restored.backup.path))
    if outcome == "restored":
        return (f"Restored the kiosk PIN key from {beside}"
                + (f"; this folder's own is kept as {kept}" if kept else "") + ".")
    if outcome in ("missing", "damaged"):
        problem = ("no PIN key beside it" if outcome == "missing"
                   else f"a damaged PIN key beside it ({beside})")
        count = restored.backup.pins
        return (f"The backup holds {count} kiosk PIN{'s' * (count != 1)} but {problem}: "
                "kiosks refuse every PIN unless this data folder's kiosk.secret is the one they "
                "were set with. Copy kiosk.secret from the old data folder (or "
                f"{beside.name} from beside the backup), or set the PINs again.")
    return None
