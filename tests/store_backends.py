"""The stores the suite runs on: SQLite always, PostgreSQL when one is given.

The store, service and API tests (tests/api, tests/integration, tests/plugins) run
once per backend: any test that uses the `config` or `store` fixture, or the
integration server, gets a `[sqlite]` and a `[postgres]` run. PostgreSQL runs need
`TEMPCLOCK_TEST_POSTGRES_URL`, a role that may create databases (`.ci/run` starts a
server on loopback and sets it); without it they are skipped, saying so. Each
PostgreSQL run gets a database of its own, cloned from a template migrated once per
session, and dropped afterwards (forcibly: a server a test left behind cannot keep it).

Tests that check something only SQLite has (pragmas, the file on disk) are marked
`sqlite_only`, and those of something only PostgreSQL has `postgres_only`. `TEMPCLOCK_TEST_REDIS_URL` names a Redis server for the tests of
several workers sharing one rate limit.

Without those variables, the session starts throwaway servers where PostgreSQL or Redis is
installed (local_servers.py, `use_local_servers`); `TEMPCLOCK_TEST_LOCAL_SERVERS=0` turns
that off. The summary says which backends ran and what was skipped and why, and
`TEMPCLOCK_REQUIRE_BACKENDS=postgres,redis` (set by `.ci/run`) fails the session when a
case of a required backend was skipped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

# Under pytest-xdist each worker ("gw0", "gw1", …) is a process of its own, running its own
# tests beside the others': its databases are named after its process id, and it gets a
# Redis database of its own, so no worker sees another's rows, buckets or counts.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def _redis_of_this_worker(url: str | None) -> str | None:
    """`url` with a Redis database number of this worker's own (the given one for worker 0)."""
    if url is None or not WORKER.startswith("gw"):
        return url
    parts = urlsplit(url)
    given = int(parts.path.lstrip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(given + int(WORKER[2:])) % 16}"))


POSTGRES_URL = os.environ.get("TEMPCLOCK_TEST_POSTGRES_URL") or None
REDIS_URL = _redis_of_this_worker(os.environ.get("TEMPCLOCK_TEST_REDIS_URL") or None)
NO_POSTGRES = ("PostgreSQL run: set TEMPCLOCK_TEST_POSTGRES_URL to a server where the role may "
               "create databases (.ci/run starts one on loopback)")
NO_REDIS = ("needs Redis: set TEMPCLOCK_TEST_REDIS_URL (.ci/run starts redis-server on "
            "loopback)")

SOURCES = {"postgres": "TEMPCLOCK_TEST_POSTGRES_URL", "redis": "TEMPCLOCK_TEST_REDIS_URL"}
SKIP_REASONS = {"postgres": NO_POSTGRES, "redis": NO_REDIS}
_local = None  # the throwaway servers of this session (local_servers.Started), if any


def use_local_servers() -> None:
    """Start throwaway servers for the backends the session was given no URL of.

    Called once per session, before collection, in the process that owns the session
    (the pytest-xdist controller, whose workers inherit the variables set here).
    """
    global POSTGRES_URL, REDIS_URL, _local
    if os.environ.get("TEMPCLOCK_TEST_LOCAL_SERVERS", "1") == "0":
        return
    if POSTGRES_URL and REDIS_URL:
        return
    import local_servers

    _local = local_servers.start_missing(postgres=not POSTGRES_URL, redis=not REDIS_URL)
    for name, url in _local.urls.items():
        os.environ[SOURCES[name]] = url
    POSTGRES_URL = POSTGRES_URL or _local.urls.get("postgres")
    REDIS_URL = REDIS_URL or _local.urls.get("redis")


def stop_local_servers() -> None:
    if _local is not None:
        _local.stop()


def where_from(name: str) -> str:
    """How the session got backend `name`: the variable, a throwaway server, or why not."""
    if _local is not None and name in _local.urls:
        return f"throwaway server {urlsplit(_local.urls[name]).netloc.split('@')[-1]}"
    if _local is not None and name in _local.problems:
        return f"not available: {_local.problems[name]}"
    if (POSTGRES_URL if name == "postgres" else REDIS_URL):
        return SOURCES[name]
    return "not available: no URL given and no local server started"


def skipped_backend(reason: str) -> str | None:
    """The backend a skip reason is about ("postgres", "redis"), or None."""
    for name, text in SKIP_REASONS.items():
        if text in reason:
            return name
    return None


# Folders whose tests touch the store; the desktop's Qt tests run on SQLite only.
BACKEND_FOLDERS = ("api", "integration", "plugins")
TESTS = Path(__file__).parent


def params_for(path: Path, marks: set[str]) -> list[object] | None:
    """The backends a test at `path` with `marks` runs on; None leaves it unparametrized (SQLite)."""
    try:
        folder = path.relative_to(TESTS).parts[0]
    except ValueError:
        return None
    if folder not in BACKEND_FOLDERS or "sqlite_only" in marks:
        return None
    postgres = pytest.param("postgres", marks=() if POSTGRES_URL else pytest.mark.skip(
        reason=NO_POSTGRES))
    return [postgres] if "postgres_only" in marks else ["sqlite", postgres]


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead (credentials, host and options kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class PostgresServer:
    """Makes and drops the test databases on a thread of its own, a step ahead of the tests.

    Copying the template takes a few hundred milliseconds; a spare copy is made while
    the previous test runs, and dropping happens behind the next one.
    """

    SPARES = 2

    def __init__(self, url: str) -> None:
        self.url = url
        self._prefix = f"tc_test_{os.getpid()}"
        self._names = itertools.count(1)
        self._jobs: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._spares: queue.SimpleQueue[str | BaseException] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="test-databases", daemon=True)
        self._thread.start()
        for _ in range(self.SPARES):
            self._jobs.put(("spare",))

    def create(self, *, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); returns its URL."""
        if migrated:
            self._jobs.put(("spare",))  # to replace the one taken now
            made = self._spares.get(timeout=300)
        else:
            reply: queue.SimpleQueue[str | BaseException] = queue.SimpleQueue()
            self._jobs.put(("empty", reply))
            made = reply.get(timeout=300)
        if isinstance(made, BaseException):
            raise made
        return made

    def drop(self, url: str) -> None:
        """Drop the database at `url` (in the background; connections left open are ended)."""
        self._jobs.put(("drop", urlsplit(url).path.lstrip("/")))

    def close(self) -> None:
        """Drop every database this server made; waits for the work to finish."""
        self._jobs.put(("stop",))
        self._thread.join(120)

    def _work(self) -> None:
        import psycopg2

        parts = urlsplit(self.url)
        template = f"{self._prefix}_template"
        made: set[str] = set()
        conn = None
        try:
            conn = psycopg2.connect(
                dbname=parts.path.lstrip("/") or "postgres", user=parts.username,
                password=parts.password, host=parts.hostname, port=parts.port or 5432,
                connect_timeout=10)
            conn.autocommit = True
            cursor = conn.cursor()
            cursor.execute("SHOW server_version_num")
            # Copying the files is several times faster than the default (WAL_LOG) since 15.
            copy = " STRATEGY FILE_COPY" if int(cursor.fetchone()[0]) >= 150000 else ""
            # Databases of test runs that were killed before they could drop them.
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'tc\\_test\\_%'")
            for (stale,) in cursor.fetchall():
                if not _running(int(stale.split("_")[2])):
                    with contextlib.suppress(Exception):
                        cursor.execute(f"DROP DATABASE IF EXISTS {stale} WITH (FORCE)")
            cursor.execute(f"DROP DATABASE IF EXISTS {template}")
            cursor.execute(f"CREATE DATABASE {template}")
            self._migrate(template)
        except Exception as error:  # every request for a database reports it
            template_error: Exception | None = error
        else:
            template_error = None
        while True:
            job = self._jobs.get()
            if job[0] == "stop":
                break
            if template_error is not None:
                if job[0] != "drop":
                    (self._spares if job[0] == "spare" else job[1]).put(template_error)
                continue
            if job[0] == "drop":
                with contextlib.suppress(Exception):  # tried again when the session ends
                    cursor.execute(f"DROP DATABASE IF EXISTS {job[1]} WITH (FORCE)")
                    made.discard(job[1])
                continue
            reply = self._spares if job[0] == "spare" else job[1]
            name = f"{self._prefix}_{next(self._names)}"
            try:
                cursor.execute(f"CREATE DATABASE {name}"
                               + (f" TEMPLATE {template}{copy}" if job[0] == "spare" else ""))
            except Exception as error:
                reply.put(error)
                continue
            made.add(name)
            reply.put(with_database(self.url, name))
        if conn is None:
            return
        for name in [*made, template]:
            with contextlib.suppress(Exception):
                cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()

    def _migrate(self, name: str) -> None:
        """Apply every migration to database `name` (the template the tests copy)."""
        from tempclock.api.config import Config
        from tempclock.api.store import _connect, migrate

        db = _connect(Config(data_dir=Path("/nonexistent"),
                             database_url=with_database(self.url, name)))
        try:
            migrate(db)
        finally:
            db.close()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_server: PostgresServer | None = None


def postgres() -> PostgresServer:
    """The session's PostgreSQL server (skips the test when there is none)."""
    global _server
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    if _server is None:
        _server = PostgresServer(POSTGRES_URL)
    return _server


def close() -> None:
    global _server
    if _server is not None:
        _server.close()
        _server = None


@contextlib.contextmanager
def database_for(backend: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | None]:
    """Point `TEMPCLOCK_DATABASE_URL` at a fresh database of `backend` (None: SQLite's default).

    The variable is what `load_config` reads, so the CLI and servers in child processes
    use the same database as the test.
    """
    if backend == "sqlite":
        monkeypatch.delenv("TEMPCLOCK_DATABASE_URL", raising=False)
        yield None
        return
    server = postgres()
    url = server.create()
    monkeypatch.setenv("TEMPCLOCK_DATABASE_URL", url)
    try:
        yield url
    finally:
        from tempclock.api.store import close_store

        close_store()
        server.drop(url)
