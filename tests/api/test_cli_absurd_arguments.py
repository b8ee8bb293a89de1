"""`tempclock` answers absurd arguments with one `Error:` line and a non-zero exit, never a
traceback: ids no store can hold, on every command that takes one; ports out of range, from
an option or the environment; bytes that are not UTF-8 in a path, with `--json` too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from cli_runs import run_tempclock

from tempclock.api.cli import cli

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]
HUGE = "99999999999999999999999"  # > 2**63: no SQLite or PostgreSQL integer holds it


def _commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _is_record_id(param: click.Parameter) -> bool:
    return (param.name or "").endswith("_id") and isinstance(param.type, (click.types.IntParamType,
                                                                         click.IntRange))


def _filler(param: click.Parameter, tmp_path: Path) -> str:
    """A valid value for a required parameter that is not the one under test."""
    if isinstance(param.type, (click.types.IntParamType, click.IntRange)):
        return "1"
    if isinstance(param.type, click.Path):
        return str(tmp_path / "somewhere")
    return "payroll-csv" if param.name == "name" else "x"


def _with(param: click.Parameter, value: str) -> list[str]:
    return [param.opts[0], value] if isinstance(param, click.Option) else [value]


ID_CASES = [(path, param.name) for path, command in _commands(cli)
            for param in command.params if _is_record_id(param)]


def tempclock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`tempclock *args` through its entry point here, or a process (cli_runs.run_tempclock:
    `serve`, or an environment of its own)."""
    return run_tempclock(list(args), env=None if env is None else {**os.environ, **env})


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_every_command_that_takes_an_id_is_found():
    commands = {" ".join(path) for path, _ in ID_CASES}
    assert {"keys revoke", "accounts rename", "demo", "logs", "locations update",
            "workers set-pin", "connectors run"} <= commands


@pytest.mark.parametrize(("path", "name"), ID_CASES, ids=[f"{' '.join(p)} {n}" for p, n in ID_CASES])
def test_an_id_too_large_for_any_store_is_one_error_line_naming_it(tmp_path, path, name):
    (data := tmp_path / "data").mkdir()
    assert tempclock("accounts", "create", "Acme", "--data-dir", str(data)).returncode == 0
    command = dict(_commands(cli))[path]
    args = [*path]
    for param in command.params:
        if param.name == name:
            args[len(path):len(path)] = _with(param, HUGE)  # first: it is judged first
        elif param.required:
            args += _with(param, _filler(param, tmp_path))
    result = tempclock(*args, "--data-dir", str(data))
    line = one_error_line(result)
    assert result.returncode == 2 and HUGE in line and "range" in line, line


def test_an_id_the_store_can_hold_but_that_does_not_exist_is_not_found(tmp_path):
    data = str(tmp_path / "data")
    line = one_error_line(tempclock("keys", "revoke", str(2**63 - 1), "--data-dir", data))
    assert "not found" in line.lower()


@pytest.mark.parametrize("port", ["0", "65536", HUGE, "-1"])
def test_serve_refuses_a_port_out_of_range_in_one_line(tmp_path, port):
    line = one_error_line(tempclock("serve", f"--port={port}", "--data-dir", str(tmp_path)))
    assert "--port" in line


@pytest.mark.parametrize("port", ["abc", "99999", "0", " "])
def test_serve_refuses_a_tempclock_port_that_is_not_a_port_in_one_line(tmp_path, port):
    result = tempclock("serve", "--data-dir", str(tmp_path), env={"TEMPCLOCK_PORT": port})
    line = one_error_line(result)
    assert "TEMPCLOCK_PORT: the port must be a number from 1 to 65535" in line


def test_a_path_with_bytes_that_are_not_utf8_is_one_json_error_with_json(tmp_path):
    assert tempclock("accounts", "create", "Acme", "--data-dir", str(tmp_path)).returncode == 0
    target = os.fsdecode(b"/proc/tempclock-\xff\x1b[31m/backup.db")
    result = subprocess.run([*COMMAND, "db", "backup", target, "--json",
                             "--data-dir", str(tmp_path)], capture_output=True, timeout=60,
                            check=False)
    assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr
    (line,) = result.stdout.decode("utf-8").splitlines()
    error = json.loads(line)
    assert error["error"] is True and "\\udcff" in json.dumps(error["message"])
    assert "\x1b" not in line  # escaped, not sent to the terminal


def test_a_key_that_expires_on_the_calendars_last_day_is_issued_and_active(tmp_path):
    data = str(tmp_path / "data")
    assert tempclock("accounts", "create", "Acme", "--data-dir", data).returncode == 0
    issued = tempclock("keys", "issue", "--account", "1", "--name", "Payroll, never expires",
                       "--expires", "9999-12-31", "--json", "--data-dir", data)
    assert issued.returncode == 0 and "Traceback" not in issued.stderr, issued.stderr
    (key,) = json.loads(tempclock("keys", "list", "--json", "--data-dir", data).stdout)["keys"]
    assert key["status"] == "Active" and key["expires_at"].startswith("9999-12-31")


def test_an_age_further_back_than_the_calendar_is_one_error_line_naming_since(tmp_path):
    data = str(tmp_path / "data")
    assert tempclock("accounts", "create", "Acme", "--data-dir", data).returncode == 0
    line = one_error_line(tempclock("logs", "--since", "99999999999999d", "--data-dir", data))
    assert line.startswith("Error: --since '99999999999999d'")
