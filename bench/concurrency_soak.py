"""The concurrency test, again and again under coverage, with two CPU hogs running.

Issue 15: "the concurrency test passes 20 of 20 runs under coverage with two CPU hogs
running". This runs `tests/api/test_concurrency.py` (on PostgreSQL too when
TEMPCLOCK_TEST_POSTGRES_URL is set, as in CI) RUNS times, each as the README's command
would (`pytest --cov`, branch coverage tracing every line), in one test process (`-n 0`),
while two processes spin `while True: pass` on the CPUs; it counts the runs that passed.

    .venv/bin/python bench/concurrency_soak.py [--runs 20]

Verdict (bench/_common.verdict): MET when every run passed (exit 0); else NOT MET after the
runs that failed, with the end of their output (exit 1).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, verdict

TEST = "tests/api/test_concurrency.py"
HOGS = 2
RUN_TIMEOUT_S = 900


def start_hogs(count: int) -> list[subprocess.Popen]:
    """`count` processes that keep a CPU busy until killed."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def stop_hogs(hogs: list[subprocess.Popen]) -> None:
    for hog in hogs:
        hog.kill()
        hog.wait()


def run_once(coverage_dir: Path) -> tuple[bool, float, str]:
    """One run of the test file under coverage: (passed, seconds, the end of its output)."""
    env = {**os.environ, "COVERAGE_FILE": str(coverage_dir / ".coverage")}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-n", "0", "-q", "-p", "no:cacheprovider",
             "--cov", "--cov-report=", TEST],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
            check=False)
    except subprocess.TimeoutExpired as timed_out:
        output = timed_out.stdout or b""  # bytes here, even with text=True
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        return False, time.monotonic() - started, f"timed out after {RUN_TIMEOUT_S} s\n{output}"
    took = time.monotonic() - started
    return done.returncode == 0, took, (done.stdout + done.stderr)[-3000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    backends = "SQLite and PostgreSQL" if os.environ.get("TEMPCLOCK_TEST_POSTGRES_URL") \
        else "SQLite only (set TEMPCLOCK_TEST_POSTGRES_URL for PostgreSQL too)"
    print(f"{TEST} x {runs} under coverage, {HOGS} CPU hogs running; backends: {backends}")
    hogs = start_hogs(HOGS)
    failed: list[tuple[int, str]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="concurrency-soak-") as scratch:
            for n in range(1, runs + 1):
                passed, took, output = run_once(Path(scratch))
                summary = output.strip().splitlines()[-1] if output.strip() else ""
                print(f"  run {n:>2}: {'passed' if passed else 'FAILED'} in {took:5.1f} s"
                      f"  ({summary})", flush=True)
                if not passed:
                    failed.append((n, output))
    finally:
        stop_hogs(hogs)
    for n, output in failed:
        print(f"\n--- run {n} ---\n{output}")
    verdict(runs > 0 and not failed,
            f"{runs - len(failed)} of {runs} runs passed; needed: all, issue 15")


if __name__ == "__main__":
    main()
