"""The `tempclock` command, run as a real process or through its entry point in this one,
and readers of what it prints.

Plain helpers, imported by name (`from cli_runs import COMMAND, one_json`); the `tc`
fixture of tests/api/conftest.py runs the command on a data folder of the test's own, as
the CLI tests of tests/plugins do through `run_tempclock`.

A real process costs ~0.5 s of CPU under coverage (a fresh interpreter importing the
product); `run_here` runs the same `main` (click's parsing, the one-line errors, the exit
code) in ~0.02 s. Tests of what only a process has (signals, the console script, the
environment it starts with, `serve`) start one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

from click.testing import CliRunner

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]


# Commands that run until stopped and install signal handlers: always a process of their own.
RUN_UNTIL_STOPPED = {"serve", "desktop"}
STARTED_WITH_PATH = os.environ.get("PYTHONPATH", "")  # a test that changes it wants a process


def run_process(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 60) -> subprocess.CompletedProcess:
    """`tempclock *args` as a real process (the console script)."""
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd, check=False)


def run_tempclock(args: list[str], *, env: dict[str, str] | None = None,
                  cwd: Path | None = None, timeout: float = 60,
                  process: bool = False) -> subprocess.CompletedProcess:
    """`tempclock *args`, here (`run_here`) unless it needs a process of its own: when asked
    (`process`), when it starts with an environment of its own (`env`, or a PYTHONPATH the
    test set: what a new interpreter imports), runs until stopped, or would close a store
    the test holds open in this process."""
    if (process or env is not None or os.environ.get("PYTHONPATH", "") != STARTED_WITH_PATH
            or RUN_UNTIL_STOPPED & set(args[:1]) or _store_open_here()):
        return run_process(args, env=env, cwd=cwd, timeout=timeout)
    with contextlib.chdir(cwd or Path.cwd()):
        return run_here(args)


def run_here(args: list[str]) -> subprocess.CompletedProcess:
    """`tempclock *args` through the console script's `main`, in this process, as a process
    would see it: its own stdout and stderr, the exit code, a traceback on stderr for an
    uncaught error, logging's last resort printing warnings to stderr, and the environment
    given back afterwards (`--plugins-dir` sets a variable)."""
    from tempclock.api.cli import main

    root, environment = logging.getLogger(), dict(os.environ)
    handlers, root.handlers = root.handlers, []  # pytest's capture would swallow warnings
    code = 0
    try:
        with CliRunner().isolation() as (out, err, _):
            try:
                main(list(args))
            except SystemExit as done:
                code = _exit_code(done.code)
            except Exception:  # as the interpreter does for an uncaught exception
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    finally:
        root.handlers = handlers
        os.environ.clear()
        os.environ.update(environment)
    return subprocess.CompletedProcess([*COMMAND, *args], code, stdout, stderr)


def _exit_code(code: object) -> int:
    """The status `sys.exit(code)` gives a process (a message goes to stderr, exit 1)."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def _store_open_here() -> bool:
    from tempclock.api.store import database

    return database.obj is not None


def run_in(data_dir: Path, *, process: bool = False):
    """`run(*args, ok=True)`: `tempclock *args --data-dir data_dir` (`run_tempclock`),
    checked to exit 0 when ok."""

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = run_tempclock([*args, "--data-dir", str(data_dir)], process=process)
        if ok:
            assert result.returncode == 0, result.stderr
        return result

    run.data_dir = data_dir
    return run


def one_json(result: subprocess.CompletedProcess) -> dict:
    """The one JSON object a `--json` command printed (and nothing else)."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    return json.loads(lines[0])


def one_error_line(result: subprocess.CompletedProcess, exit_code: int | None = None) -> str:
    """The single `Error: ...` line of a refused command, which exited non-zero (`exit_code`
    when given), printing nothing on stdout."""
    assert result.returncode != 0 and result.stdout == "", (result.returncode, result.stdout)
    assert exit_code is None or result.returncode == exit_code, result.returncode
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]
