"""Kiosk PINs: 4 to 8 digits, unique in an account, stored only as a keyed hash.

The hash is HMAC-SHA256 keyed by a secret kept outside the database (`kiosk.secret`,
0600, in the data directory, made on first use), over the account id and the PIN: a
kiosk finds its worker with one indexed lookup, and a copy of the database alone does
not give the PINs away (10^4 to 10^8 candidates are nothing against a plain hash).
A PIN is shown once, when it is set; nothing ever reads it back.
"""

from __future__ import annotations

import hmac
import os
import secrets
import tempfile
import threading
from pathlib import Path

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
    fd, written = tempfile.mkstemp(prefix=f".{SECRET_FILENAME}-", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(key)
            file.flush()
            os.fsync(file.fileno())
        private_file(Path(written))
        try:
            os.link(written, path)
        except FileExistsError:
            return path.read_bytes()
        return key
    finally:
        os.unlink(written)


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
