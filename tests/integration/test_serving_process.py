"""Only a process that does nothing but serve shortens Python's GIL switch interval.

`tempclock serve` and each of its `--workers` hand the GIL back after 2 ms (the write
thread's group commits wait on it); importing the API, building the app and serving it
from another program (the desktop app, a test, a script) keep Python's default. Each
case runs in a fresh interpreter, so nothing another test did can decide it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import pytest

from tempclock.api.server import SWITCH_INTERVAL_S

DEFAULT_SWITCH_INTERVAL_S = 0.005


def switch_interval_after(script: str, data_dir, **env: str) -> float:
    """Run `script` in a fresh interpreter; the switch interval it printed last."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
        timeout=60, check=False,
        env={**os.environ, "TEMPCLOCK_DATA_DIR": str(data_dir), **env})
    lines = result.stdout.split()
    assert lines, result.stderr
    return float(lines[-1])


@pytest.fixture
def busy_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


def test_importing_and_serving_the_api_from_another_program_keeps_the_default(tmp_path):
    interval = switch_interval_after("""
        import sys, httpx
        from tempclock.api.config import load_config
        from tempclock.api.store import open_store
        open_store(load_config())
        from tempclock.api.http import create_app
        from tempclock.api.server import ServerThread
        served = ServerThread(create_app()).start()
        assert httpx.get(served.url + "/api/v1/workers").status_code == 401
        print(sys.getswitchinterval())
        served.stop()
    """, tmp_path)
    assert interval == DEFAULT_SWITCH_INTERVAL_S


def test_tempclock_serve_shortens_it_in_its_own_process(tmp_path, busy_port):
    # The real `serve` entry; the port is taken so it gives up once it tried to listen.
    interval = switch_interval_after(f"""
        import sys
        from tempclock.api.cli import cli
        try:
            cli(["serve", "--port", "{busy_port}", "--no-dispatch"])
        except SystemExit as stop:
            assert stop.code != 0
        print(sys.getswitchinterval())
    """, tmp_path)
    assert interval == SWITCH_INTERVAL_S


def test_each_worker_of_serve_shortens_it_in_its_own_process(tmp_path):
    interval = switch_interval_after("""
        import sys
        from tempclock.api.config import load_config
        from tempclock.api.store import close_store, open_store
        open_store(load_config())  # what the parent does before it starts its workers
        close_store()
        from tempclock.api.server import worker_app
        worker_app()
        print(sys.getswitchinterval())
    """, tmp_path)
    assert interval == SWITCH_INTERVAL_S
