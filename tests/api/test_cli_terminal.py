"""`tempclock connectors run` in a terminal, as an admin runs it: a progress bar while a long
import works, and Ctrl+C stopping it with "Aborted." and the run recorded as interrupted."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tempclock.api.config import load_config
from tempclock.api.services import connectors
from tempclock.api.store import close_store, open_store

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX terminal")]


# A shell starts a command typed at its prompt with Ctrl+C's signal at its default, whatever
# the shell inherited; a test run started in the background by a non-interactive shell
# (`./.ci/run &`) inherits SIGINT (and SIGQUIT) ignored, and so would every command it starts,
# which then rightly goes on through Ctrl+C, as under `nohup`. That, not the product, was
# the "exit 0 after Ctrl+C" these tests met in such runs (SigIgn 0x1001006: SIGINT, SIGQUIT,
# SIGPIPE, SIGXFSZ). So the command is started as a terminal's foreground job is.
AS_A_FOREGROUND_JOB = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                       "os.execv(sys.argv[1], sys.argv[1:])")


class InTerminal:
    """The command with its stderr on a pseudo-terminal (what `isatty` sees), read as it goes."""

    def __init__(self, data: Path, *args: str) -> None:
        controller, terminal = pty.openpty()
        command = [sys.executable, "-m", "tempclock.api.cli", *args, "--data-dir", str(data)]
        self.process = subprocess.Popen(
            [sys.executable, "-c", AS_A_FOREGROUND_JOB, *command],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal, text=True)
        os.close(terminal)
        self.screen = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, args=(controller,), daemon=True)
        self._reader.start()

    def _read(self, controller: int) -> None:
        try:
            while chunk := os.read(controller, 4096):
                with self._lock:
                    self.screen += chunk.decode(errors="replace")
        except OSError:  # the terminal closed with the process
            pass
        finally:
            os.close(controller)

    def wait_for_screen(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if text in self.screen:
                    return
            assert self.process.poll() is None, f"exited before showing {text!r}: {self.screen}"
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not shown within {timeout} s: {self.screen!r}")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        stdout, _ = self.process.communicate(timeout=timeout)
        self._reader.join(10)
        return self.process.returncode, stdout


def an_ats_file(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "ats.csv"
    path.write_text("Candidate ID,Forename,Surname\n"
                    + "".join(f"C{n},Ann,Nowak{n}\n" for n in range(rows)))
    return path


def agency(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "tempclock.api.cli", "accounts", "create", "Acme",
                    "--data-dir", str(data)], check=True, capture_output=True, timeout=60)
    return data


def test_an_import_in_a_terminal_shows_a_progress_bar_then_its_summary(tmp_path):
    data = agency(tmp_path)
    run = InTerminal(data, "connectors", "run", "ats-csv", "--account", "1", "--set",
                     f"file={an_ats_file(tmp_path, 1500)}")
    code, stdout = run.finish()
    assert code == 0, run.screen
    assert "Working" in run.screen and "100%" in run.screen
    assert "succeeded: 1500 created, 1500 rows" in stdout


# 40,000 rows: ~5 s untraced, ~15 s traced, long after the first batch shows "Working".
# Runs of the suite started in the background ended this import with exit 0: SIGINT was
# ignored in the command (see AS_A_FOREGROUND_JOB). Ctrl+C also sets a flag the run checks
# at each progress report and write (cli._ctrl_c_sets), so a KeyboardInterrupt a connector
# swallows still stops it.
ROWS_TO_INTERRUPT = 40_000


def _signal_masks(pid: int) -> str:
    """The process's SigBlk/SigIgn/SigCgt lines (Linux), to tell a lost KeyboardInterrupt
    from a Ctrl+C that never reached a handler."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "(no /proc)"
    return ", ".join(line.replace("\t", " ") for line in status.splitlines()
                     if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def test_ctrl_c_during_an_import_says_aborted_and_records_the_run_interrupted(tmp_path):
    data = agency(tmp_path)
    run = InTerminal(data, "connectors", "run", "ats-csv", "--account", "1", "--set",
                     f"file={an_ats_file(tmp_path, ROWS_TO_INTERRUPT)}")
    run.wait_for_screen("Working")
    running_when_interrupted = run.process.poll() is None
    signals = _signal_masks(run.process.pid)  # SIGINT (bit 2) blocked, ignored or caught
    run.process.send_signal(signal.SIGINT)
    code, stdout = run.finish()
    shown = (f"signal masks when signalled: {signals}; stdout: {stdout[-500:]!r}; "
             f"terminal: {run.screen[-1500:]!r}")
    assert running_when_interrupted, f"the import ended before Ctrl+C was sent; {shown}"
    assert code == 1, f"exit {code} after Ctrl+C; {shown}"
    assert run.screen.rstrip().endswith("Aborted."), shown
    open_store(load_config(data))
    try:
        (recorded,) = connectors.list_runs(1)
    finally:
        close_store()
    assert (recorded.status, recorded.message) == ("cancelled", "Interrupted")
    assert recorded.counts.get("created", 0) < ROWS_TO_INTERRUPT
