"""The test session itself: it runs every backend it can, says what it skipped, and CI fails
when a backend it was meant to test was skipped (tests/conftest.py, tests/local_servers.py)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import local_servers
import pytest
from untraced import untraced

ROOT = Path(__file__).resolve().parents[2]
# One small case of each backend: a [sqlite] and a [postgres] run, and a Redis-only test.
CASES = ["tests/api/test_concurrency.py", "tests/api/test_redis_ratelimit.py",
         "-k", "refuses_a_second_open_entry or exact_across_connections"]


def session(**env: str) -> subprocess.CompletedProcess:
    """A pytest session of CASES, given no server URLs unless `env` names them; untraced: it
    tests the session's own harness, and its cases' code runs in the suite's own processes
    (traced, each nested session's four test processes cost ~30 s of CPU)."""
    clean = {k: v for k, v in untraced().items()
             if not k.startswith(("TEMPCLOCK_TEST_", "TEMPCLOCK_REQUIRE", "COV_CORE"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:cov", *CASES], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=600)


def summary(run: subprocess.CompletedProcess) -> str:
    return next(line for line in run.stdout.splitlines() if line.startswith("backends: "))


def test_ci_fails_when_a_required_backend_was_skipped():
    run = session(TEMPCLOCK_REQUIRE_BACKENDS="postgres,redis", TEMPCLOCK_TEST_LOCAL_SERVERS="0")
    assert run.returncode == 1, run.stdout
    assert "failed" not in run.stdout.splitlines()[-1]  # every case that ran passed
    assert "for want of postgres" in summary(run)
    assert "for want of redis" in summary(run)
    assert ("FAILED: TEMPCLOCK_REQUIRE_BACKENDS requires postgres, redis, whose cases were "
            "skipped") in run.stdout


def test_a_run_not_required_to_test_a_backend_passes_and_says_what_it_skipped():
    run = session(TEMPCLOCK_TEST_LOCAL_SERVERS="0")
    assert run.returncode == 0, run.stdout
    line = summary(run)
    assert "postgres: not available" in line
    assert "for want of postgres" in line
    assert "for want of redis" in line


@pytest.mark.skipif(local_servers.postgres_bin() is None or not local_servers.shutil.which(
    "redis-server"), reason="needs PostgreSQL and Redis installed, to start throwaway servers")
def test_a_session_given_no_urls_starts_throwaway_servers_and_skips_nothing():
    run = session(TEMPCLOCK_REQUIRE_BACKENDS="postgres,redis")
    assert run.returncode == 0, run.stdout + run.stderr
    line = summary(run)
    assert "postgres: throwaway server 127.0.0.1:" in line
    assert "redis: throwaway server 127.0.0.1:" in line
    assert line.endswith("| skipped: none")
    assert "3 passed" in run.stdout  # [sqlite], [postgres] and the Redis case
    for port in re.findall(r"throwaway server 127\.0\.0\.1:(\d+)", line):
        with pytest.raises(OSError):  # stopped at the end of the session
            socket.create_connection(("127.0.0.1", int(port)), 2).close()
