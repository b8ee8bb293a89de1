"""Throwaway PostgreSQL and Redis servers for a test session that was given none.

`.ci/run` starts servers and names them (TEMPCLOCK_TEST_POSTGRES_URL / _REDIS_URL). When a
developer runs the README's test command without them but PostgreSQL or Redis is installed
(pg_ctl and initdb under /usr/lib/postgresql/*/bin, redis-server on PATH), the session starts
its own: in a temp dir, on loopback, on a free port, without fsync, and stops and deletes
them at the end. So the `[postgres]` and Redis cases run wherever they can, instead of being
skipped in silence.

Under pytest-xdist the controller starts them before its workers exist (they inherit the
variables); starting takes a file lock, so sessions started side by side never race for a
port.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

START_TIMEOUT_S = 60
LOCK = Path(tempfile.gettempdir()) / "tempclock-test-servers.lock"


@dataclass
class Started:
    """What the session started, to say so in the summary and to stop at the end."""

    urls: dict[str, str] = field(default_factory=dict)  # "postgres" / "redis" -> URL
    problems: dict[str, str] = field(default_factory=dict)  # why one could not start
    _stops: list = field(default_factory=list)

    def stop(self) -> None:
        for stop in reversed(self._stops):
            with contextlib.suppress(Exception):
                stop()
        self._stops.clear()


def postgres_bin() -> Path | None:
    """The bin folder of the newest PostgreSQL installed with initdb and pg_ctl, if any."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: [int(x) for x in Path(p).parts[-3].split(".") if x.isdigit()])
    for pg_ctl in reversed(found):
        folder = Path(pg_ctl).parent
        if (folder / "initdb").exists():
            return folder
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on 127.0.0.1:{port} within {START_TIMEOUT_S} s")


def _as_postgres_user() -> list[str]:
    """initdb refuses to run as root: run the server as the `postgres` account then."""
    if os.geteuid() != 0:
        return []
    if shutil.which("runuser") is None:
        raise RuntimeError("running as root, and no runuser to start PostgreSQL as postgres")
    return ["runuser", "-u", "postgres", "--"]


def start_postgres(started: Started) -> None:
    """initdb a cluster in a temp dir and start it on a free loopback port."""
    folder = postgres_bin()
    if folder is None:
        started.problems["postgres"] = "PostgreSQL is not installed (no initdb/pg_ctl)"
        return
    home = Path(tempfile.mkdtemp(prefix="tempclock-test-pg-"))
    prefix = _as_postgres_user()
    if prefix:
        shutil.chown(home, "postgres", "postgres")
    data, port = home / "data", _free_port()
    run = dict(check=True, capture_output=True, timeout=START_TIMEOUT_S, cwd=home)
    try:
        subprocess.run([*prefix, str(folder / "initdb"), "-D", str(data), "-U", "tempclock",
                        "--auth=trust", "--no-sync", "-E", "UTF8"], **run)
        started._stops.append(lambda: shutil.rmtree(home, ignore_errors=True))
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {home} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run([*prefix, str(folder / "pg_ctl"), "-D", str(data), "-l",
                        str(home / "server.log"), "-o", options, "-w", "start"], **run)
        started._stops.insert(1, lambda: subprocess.run(
            [*prefix, str(folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=START_TIMEOUT_S, cwd=home))
        _wait_for_port(port, "PostgreSQL")
    except (OSError, subprocess.SubprocessError, RuntimeError) as error:
        detail = getattr(error, "stderr", b"") or b""
        started.problems["postgres"] = (f"could not start a throwaway PostgreSQL: {error} "
                                        f"{detail.decode(errors='replace').strip()}").strip()
        return
    started.urls["postgres"] = f"postgresql://tempclock@127.0.0.1:{port}/postgres"


def start_redis(started: Started) -> None:
    """Start redis-server on a free loopback port, keeping nothing on disk."""
    server = shutil.which("redis-server")
    if server is None:
        started.problems["redis"] = "Redis is not installed (no redis-server)"
        return
    home = Path(tempfile.mkdtemp(prefix="tempclock-test-redis-"))
    port = _free_port()
    process = subprocess.Popen(  # stopped with the session; never outlives it
        [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(home), "--logfile", str(home / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(home, ignore_errors=True)

    started._stops.append(stop)
    try:
        _wait_for_port(port, "Redis")
    except RuntimeError as error:
        started.problems["redis"] = f"could not start a throwaway Redis: {error}"
        return
    started.urls["redis"] = f"redis://127.0.0.1:{port}/0"


def start_missing(postgres: bool, redis: bool) -> Started:
    """Start the servers asked for (those the session was not given), one session at a time."""
    started = Started()
    with FileLock(str(LOCK), timeout=START_TIMEOUT_S * 2):
        if postgres:
            start_postgres(started)
        if redis:
            start_redis(started)
    return started
