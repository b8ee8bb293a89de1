"""Where TempClock keeps its data and how it serves it.

Resolution order for the data directory: the `--data-dir` option, then
`TEMPCLOCK_DATA_DIR`, then the platform's user data directory. The database is
`TEMPCLOCK_DATABASE_URL` when set (any playhouse `db_url`, e.g. PostgreSQL),
else a SQLite file inside the data directory. `TEMPCLOCK_REDIS_URL` names the
Redis server whose rate limits several `tempclock serve` workers share.

The data directory holds webhook secrets, connector credentials and staff personal
data: on POSIX it and every folder in it are 0700, every file 0600 (created so, and a
directory an older version left readable is tightened when the store opens). On
Windows the user's profile folder is already private to them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "TempClock"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
SQLITE_FILENAME = "tempclock.db"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_POSIX = os.name == "posix"


@dataclass(frozen=True)
class Config:
    """The resolved settings one process runs with."""

    data_dir: Path
    database_url: str | None = None
    redis_url: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file used when no database URL is configured."""
        return self.data_dir / SQLITE_FILENAME

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url is None or self.database_url.startswith("sqlite")

    @property
    def database_label(self) -> str:
        """A human description of the store, without credentials."""
        if self.database_url is None:
            return str(self.sqlite_path)
        scheme, _, rest = self.database_url.partition("://")
        host = rest.rpartition("@")[2]
        return f"{scheme}://{host}"


def load_config(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Resolve the configuration from explicit values, the environment and defaults."""
    env = os.environ if environ is None else environ
    if data_dir is None:
        data_dir = env.get("TEMPCLOCK_DATA_DIR") or platformdirs.user_data_dir(
            APP_NAME, appauthor=False
        )
    url = env.get("TEMPCLOCK_DATABASE_URL") or None
    return Config(
        data_dir=Path(data_dir).expanduser().resolve(),
        database_url=url,
        redis_url=env.get("TEMPCLOCK_REDIS_URL") or None,
        host=host or env.get("TEMPCLOCK_HOST") or DEFAULT_HOST,
        port=_port(port) if port else _port_from_env(env),
    )


def _port_from_env(env: Mapping[str, str]) -> int:
    try:
        return _port(env.get("TEMPCLOCK_PORT") or DEFAULT_PORT)
    except ValueError as error:  # say where the value came from: no option was given
        raise ValueError(f"TEMPCLOCK_PORT: {error}") from None


def _port(value: int | str) -> int:
    """A TCP port to listen on, from an option or `TEMPCLOCK_PORT`; ValueError in words."""
    port = int(value) if str(value).strip().isdigit() else None
    if port is None or not 1 <= port <= 65535:
        raise ValueError(f"the port must be a number from 1 to 65535, not {str(value)!r}")
    return port


def _chmod(path: str | Path, mode: int) -> None:
    # Not ours to change (another user's folder), gone meanwhile, or read-only: the store's
    # opening reports what matters; a mode we cannot set is no reason to refuse to run.
    if _POSIX and not os.path.islink(path):  # a link's target is not ours to change
        with contextlib.suppress(OSError):
            os.chmod(path, mode)


def private_dir(path: Path) -> Path:
    """Create the folder `path` (and missing parents) for this user only; tighten it if it exists."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty unless it exists, readable and writable by this user only.

    Create a file so before SQLite or a copy writes it: SQLite gives its -wal and -shm
    files the database file's permissions.
    """
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    _chmod(path, PRIVATE_FILE)
    return path


def make_private(folder: Path) -> None:
    """Tighten `folder` and everything in it: folders 0700, files 0600 (links not followed)."""
    if not _POSIX or not folder.is_dir():
        return
    _chmod(folder, PRIVATE_DIR)
    for root, folders, files in os.walk(folder):
        for name in folders:
            _chmod(os.path.join(root, name), PRIVATE_DIR)
        for name in files:
            _chmod(os.path.join(root, name), PRIVATE_FILE)
