"""`tempclock` with no arguments opens the desktop and serves the API until it is quit."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("args", [[], ["desktop"]], ids=["no arguments", "desktop"])
def test_tempclock_opens_the_desktop_with_the_api_and_quits_cleanly(tmp_path, args):
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
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
