"""`tempclock` with no arguments opens the desktop and serves the API until it is quit."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("args", [[], ["desktop"]], ids=["no arguments", "desktop"])
def test_tempclock_opens_the_desktop_with_the_api_and_quits_cleanly(tmp_path, args,
                                                                    readable_by_others):
    script = shutil.which("tempclock", path=str(Path(sys.executable).parent))
    assert script is not None
    port = _free_port()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TEMPCLOCK_PORT": str(port),
           "TEMPCLOCK_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen([script, *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/workers", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert answer is not None and answer.status_code == 401
        assert (tmp_path / "data" / "tempclock.db").exists()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        if os.name == "posix":  # what it wrote is the user's alone
            assert readable_by_others(tmp_path / "data") == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _group_is_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _dispatcher_pid(log: Path, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"the dispatcher is running \(process (\d+)\)", log.read_text())
        if found:
            return int(found.group(1))
        time.sleep(0.1)
    raise AssertionError(f"the dispatcher never started:\n{log.read_text()}")


def _dispatcher_then_desktop(desktop: subprocess.Popen, dispatcher: int) -> None:
    os.kill(dispatcher, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(dispatcher, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)  # the desktop reaps it when its watch notices (half a second)
    desktop.send_signal(signal.SIGTERM)


_STOPS = {
    "SIGTERM to its process group": lambda p, _d: os.killpg(p.pid, signal.SIGTERM),
    "SIGINT to its process group": lambda p, _d: os.killpg(p.pid, signal.SIGINT),
    "SIGTERM to the desktop alone": lambda p, _d: p.send_signal(signal.SIGTERM),
    "SIGTERM to the dispatcher, then the desktop": _dispatcher_then_desktop,
    # A closed terminal: it killed the desktop before its API stopped and its logs were written.
    "SIGHUP to its process group": lambda p, _d: os.killpg(p.pid, signal.SIGHUP),
    "SIGHUP to the desktop alone": lambda p, _d: p.send_signal(signal.SIGHUP),
}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")
@pytest.mark.parametrize("how", list(_STOPS))
def test_the_desktop_stops_within_5_s_with_no_process_left_however_it_is_signalled(
        tmp_path, how):
    port = _free_port()
    log = tmp_path / "desktop.log"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TEMPCLOCK_PORT": str(port),
           "TEMPCLOCK_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tempclock.api.cli", "desktop"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    asking = threading.Event()

    def ask_meanwhile() -> None:  # requests in flight while it stops
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while not asking.is_set():
                try:
                    client.get("/api/v1/workers", headers={"Authorization": "Bearer tc_x"})
                except httpx.TransportError:
                    time.sleep(0.05)

    client = threading.Thread(target=ask_meanwhile, daemon=True)
    try:
        dispatcher = _dispatcher_pid(log)
        client.start()
        _STOPS[how](process, dispatcher)
        signalled = time.monotonic()
        process.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        asking.set()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    client.join(10)
    output = log.read_text()
    assert took <= 5, f"the desktop took {took:.1f} s to stop:\n{output}"
    assert process.returncode == 0, output
    assert _group_is_gone(process.pid, 5), f"a process of the desktop's group is left:\n{output}"
    assert "leaked semaphore" not in output, output


_HUNG_OPERATION = """
import sys, threading
from PySide6.QtCore import QTimer
from tempclock_desktop import app
from tempclock_desktop.operations import Operation

def start_work_that_ignores_cancelling():
    window = next(w for w in app.QApplication.topLevelWidgets() if w.isVisible())
    Operation(window, lambda: threading.Event().wait()).run()
    print("working", flush=True)

app.application([])
QTimer.singleShot(500, start_work_that_ignores_cancelling)
sys.exit(app.run(sys.argv[1]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_desktop_stops_within_5_s_while_background_work_ignores_cancelling(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TEMPCLOCK_PORT": str(_free_port()),
           "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "desktop.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-c", _HUNG_OPERATION, str(tmp_path / "data")],
                                   env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while "working" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "working" in log.read_text(), log.read_text()
        _dispatcher_pid(log)
        process.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        process.wait(timeout=30)
        took = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert took <= 5, f"the desktop took {took:.1f} s to stop:\n{log.read_text()}"
    assert process.returncode == 0, log.read_text()
    assert _group_is_gone(process.pid, 5)
