"""The `tempclock` command run as a real process, and readers of what it prints.

Plain helpers, imported by name (`from cli_runs import COMMAND, one_json`); the `tc`
fixture of tests/api/conftest.py runs the command on a data folder of the test's own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]


def run_in(data_dir: Path):
    """`run(*args, ok=True)`: `tempclock *args --data-dir data_dir`, checked to exit 0 when ok."""

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*COMMAND, *args, "--data-dir", str(data_dir)],
                                capture_output=True, text=True, timeout=60, check=False)
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
