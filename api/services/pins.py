"""Kiosk PINs: 4 to 8 digits, unique in an account, stored only as a keyed hash.

The hash is HMAC-SHA256 keyed by a secret kept outside the database (`kiosk.secret`,
0600, in the data directory, made on first use), over the account id and the PIN: a
kiosk finds its worker with one indexed lookup, and a copy of the database alone does
not give the PINs away (10^4 to 10^8 candidates are nothing against a plain hash).
A PIN is shown once, when it is set; nothing ever reads it back.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from peewee import IntegrityError

from tempclock.api.config import private_dir, private_file
from tempclock.api.services.common import emit, fetch, transaction
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.store import data_dir
from tempclock.api.store.models import Worker as WorkerRow
from tempclock.api.store.models import WorkerPin as PinRow

SECRET_FILENAME = "kiosk.secret"  # noqa: S105 - a file name, not a secret
SECRET_BYTES = 32
MIN_DIGITS, MAX_DIGITS = 4, 8
GENERATED_DIGITS = 6
_TRIES = 20  # fresh PINs drawn before giving up on a crowded account

_secrets: dict[Path, bytes] = {}
_secret_lock = threading.Lock()


def _secret() -> bytes:
    """The PIN key of this data directory, created (0600) the first time it is needed."""
    folder = data_dir()
    key = _secrets.get(folder)  # looked up on every punch: no path built for it
    if key is not None:
        return key
    path = folder / SECRET_FILENAME
    with _secret_lock:
        private_dir(path.parent)  # with PostgreSQL nothing else may have made it yet
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = _make_secret(path)
        if len(key) < SECRET_BYTES:
            # An OSError: the CLI and the desktop tell a file's problem in one line, no traceback.
            raise OSError(f"{path} is damaged: it should hold {SECRET_BYTES} random bytes; "
                          "restore it from a backup, or delete it and set every PIN anew")
        _secrets[folder] = key
        return key


def _make_secret(path: Path) -> bytes:
    """A new key, written beside `path` and then linked into place: no process ever reads
    it half-written (and takes it for damaged). When another process linked its own first,
    that one is the key, for every process."""
    key = secrets.token_bytes(SECRET_BYTES)
    with _written_beside(path, key) as written:
        try:
            os.link(written, path)
        except FileExistsError:
            return path.read_bytes()
        return key


@contextlib.contextmanager
def _written_beside(path: Path, content: bytes) -> Iterator[Path]:
    """`content` in a new file beside `path` (this user's only), on disk, to be linked or
    renamed into place; deleted afterwards unless it was renamed."""
    fd, written = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        yield private_file(Path(written))
    finally:
        Path(written).unlink(missing_ok=True)


# --- the key and backups -------------------------------------------------------------------
# A backup of the store holds the PINs' hashes, and they are worth nothing without the key
# they were made with: restored into a new data folder (a new office PC) every PIN would
# count as wrong, and five of them lock the kiosk. So a backup carries a copy of the key
# beside it (`<backup>.kiosk.secret`, this user's only: a copy of the backup alone still
# gives no PIN away), and a restore brings it back.
BESIDE_SUFFIX = "." + SECRET_FILENAME


def key_beside(backup: Path) -> Path:
    """Where the copy of the PIN key that goes with `backup` is kept."""
    return backup.with_name(backup.name + BESIDE_SUFFIX)


def copy_key_beside(folder: Path, backup: Path) -> Path | None:
    """Copy the PIN key of the data folder `folder` beside `backup`; None when it has none
    (no PIN was ever set there)."""
    try:
        key = (folder / SECRET_FILENAME).read_bytes()
    except FileNotFoundError:
        return None
    copy = key_beside(backup)
    _write_private(copy, key)
    return copy


class KeyRestored(NamedTuple):
    """What a restore did with the PIN key: `outcome` is "restored" (the backup's key
    replaced this folder's, kept as `kept_as`), "same" (they were one key), "missing"
    (no key beside the backup while the store holds PINs), "damaged" (one that is not a
    key: this folder's is left as it was) or "none" (no key, no PIN)."""

    outcome: str
    kept_as: Path | None = None


def restore_key(folder: Path, backup: Path, *, holds_pins: bool, stamp: str) -> KeyRestored:
    """Put the key beside `backup` in place as the data folder's (after its store was
    restored from `backup`); this folder's own, when it differs, is kept aside."""
    try:
        key = key_beside(backup).read_bytes()
    except FileNotFoundError:
        return KeyRestored("missing" if holds_pins else "none")
    except OSError:  # a folder, unreadable: the store is restored already, say so, not fail
        return KeyRestored("damaged")
    if len(key) < SECRET_BYTES:  # as `_secret` judges a key
        return KeyRestored("damaged")
    path = folder / SECRET_FILENAME
    with _secret_lock:
        private_dir(folder)  # a store kept elsewhere (a SQLite URL) leaves it unmade
        try:
            current = path.read_bytes()
        except FileNotFoundError:
            current = None
        if current == key:
            return KeyRestored("same")
        kept_as = None
        if current is not None:
            kept_as = path.with_name(f"{SECRET_FILENAME}.before-restore-{stamp}")
            _write_private(kept_as, current)
        _write_private(path, key)
        _secrets.pop(folder, None)  # this process hashes with the restored key from now on
    return KeyRestored("restored", kept_as)


def _write_private(path: Path, content: bytes) -> None:
    """Write `path` (this user's only) whole or not at all: written beside, then renamed."""
    with _written_beside(path, content) as written:
        os.replace(written, path)


def pin_hash(account_id: int, pin: str) -> str:
    """The keyed hash a PIN of this account is stored and looked up by."""
    # hmac.digest: OpenSSL's one-shot HMAC, the same value as hmac.new(...) without its object.
    return hmac.digest(_secret(), f"{account_id}:{pin}".encode(), "sha256").hex()


def check_pin_shape(pin: object) -> str:
    """`pin` if it is 4 to 8 ASCII digits, else `Invalid`."""
    if not (isinstance(pin, str) and MIN_DIGITS <= len(pin) <= MAX_DIGITS
            and pin.isascii() and pin.isdigit()):
        raise Invalid(f"A PIN is {MIN_DIGITS} to {MAX_DIGITS} digits", field="pin",
                      code="invalid_pin")
    return pin


def _store(account_id: int, worker_id: int, value: str | None) -> None:
    with transaction():
        worker = fetch(WorkerRow, account_id, worker_id, "Worker")
        PinRow.delete().where(PinRow.worker == worker.id).execute()
        if value is not None:
            PinRow.insert(account=account_id, worker=worker.id, pin_hash=value).execute()
        # The event says that the PIN changed, never what it is.
        emit(account_id, "worker_pin_changed", {"worker_id": worker.id, "has_pin": value is not None})


def set_pin(account_id: int, worker_id: int, pin: str | None = None) -> str:
    """Set the worker's kiosk PIN (4-8 digits), or generate one; returns it, to show once.

    A PIN another worker of the account has is refused (409 `pin_taken`); a generated
    one is drawn again until it is free.
    """
    if pin is not None:
        check_pin_shape(pin)
        try:
            _store(account_id, worker_id, pin_hash(account_id, pin))
        except IntegrityError:
            raise Conflict("Another worker already has this PIN; choose another",
                           code="pin_taken") from None
        return pin
    for _ in range(_TRIES):
        drawn = f"{secrets.randbelow(10**GENERATED_DIGITS):0{GENERATED_DIGITS}d}"
        try:
            _store(account_id, worker_id, pin_hash(account_id, drawn))
        except IntegrityError:
            continue
        return drawn
    raise Conflict("Could not find a free PIN; set one by hand", code="pin_taken")


def clear_pin(account_id: int, worker_id: int) -> None:
    """Remove the worker's PIN: they can no longer clock in at a kiosk."""
    _store(account_id, worker_id, None)


def has_pin(account_id: int, worker_id: int) -> bool:
    """Whether the worker has a kiosk PIN."""
    worker = fetch(WorkerRow, account_id, worker_id, "Worker")
    return PinRow.select().where(PinRow.worker == worker.id).exists()


def account_of_worker(worker_id: int) -> int:
    """The account a worker belongs to (the admin's CLI names a worker by id alone)."""
    row = WorkerRow.get_or_none(WorkerRow.id == worker_id)
    if row is None:
        from tempclock.api.services.errors import NotFound

        raise NotFound.of("Worker", worker_id)
    return row.account_id
