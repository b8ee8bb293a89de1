"""The kiosk listener's own process as an admin running `tempclock serve --kiosk-host` meets it
when that process is stopped, killed again and again, or frozen: serve restarts it only when it
died, waits longer each time it dies again, and still stops within 5 s leaving no process behind.

Real processes: `tempclock serve` in a process group of its own, its kiosk listener found by
the socket it serves (Linux /proc), signalled as a service manager or an admin would.
"""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from serving import Server, free_port, listening_child, running

STOP_WITHIN_S = 5.0  # ARCHITECTURE.md: every process stops within 5 s of SIGTERM
WAIT_S = 60  # conditions on a loaded CI box: generous, never a fixed sleep

pytestmark = pytest.mark.sqlite_only  # processes and signals: the store plays no part


@pytest.fixture
def served(config, tmp_path):
    """`tempclock serve` with a kiosk listener on a port of its own; yields (server, port)."""
    port = free_port()
    server = Server(config, tmp_path / "serve.log", "--no-dispatch", "--kiosk-host",
                    "127.0.0.1", "--kiosk-port", str(port), own_group=True)
    try:
        yield server, port
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def kiosk_process(server: Server, port: int, *, not_pid: int | None = None) -> int:
    """The kiosk listener's process once it answers on `port` (a new one, not `not_pid`)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        pid = listening_child(server.process.pid, port)
        if pid is not None and pid != not_pid:
            try:  # an unknown link is a 404: the listener is up and answering
                httpx.get(f"http://127.0.0.1:{port}/kiosk/no-such-link/site", timeout=2)
                return pid
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"no kiosk listener answers on port {port}:\n{server.output}")


def wait_for_output(server: Server, text: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while text not in server.output:
        assert time.monotonic() < deadline, f"{text!r} never printed:\n{server.output}"
        time.sleep(0.05)


def test_a_kiosk_listener_stopped_on_its_own_is_not_started_again_and_the_api_carries_on(
        served):
    server, port = served
    listener = kiosk_process(server, port)
    os.kill(listener, signal.SIGTERM)  # an admin stopping that process alone
    wait_for_output(server, "has stopped: it was asked to")
    deadline = time.monotonic() + WAIT_S
    while running(listener) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(listener)
    assert listening_child(server.process.pid, port) is None
    assert httpx.get(f"{server.url}/docs", timeout=10).status_code == 200
    took = server.stop()
    assert took < STOP_WITHIN_S, server.output
    assert "stopped unexpectedly" not in server.output
    assert "starting it again" not in server.output


def test_a_kiosk_listener_that_keeps_dying_waits_longer_each_time_and_serve_stops_meanwhile(
        served):
    server, port = served
    listener = None
    for pause in ("0.5", "1.0", "2.0", "4.0"):  # it never ran 30 s: each pause doubles
        listener = kiosk_process(server, port, not_pid=listener)
        os.kill(listener, signal.SIGKILL)
        wait_for_output(server, f"starting it again in {pause} s")
    # serve is told to stop during the 4 s pause: it stops without starting a fifth listener.
    took = server.stop()
    assert took < STOP_WITHIN_S, server.output
    assert server.output.count("stopped unexpectedly") == 4
    assert not running(listener)


def test_a_frozen_kiosk_listener_is_killed_when_serve_stops_and_serve_stops_within_5_s(served):
    server, port = served
    listener = kiosk_process(server, port)
    os.kill(listener, signal.SIGSTOP)  # hung: it can no longer finish its requests and exit
    try:
        took = server.stop()  # (with own_group: every process of the group is gone)
    finally:
        if running(listener):
            os.kill(listener, signal.SIGKILL)
    assert "did not stop within" in server.output and "killing it" in server.output
    assert not running(listener)
    assert took < STOP_WITHIN_S, f"serve took {took:.1f} s\n{server.output}"


def test_a_kiosk_listener_already_reaped_by_its_restarter_is_not_called_frozen_at_stop(
        config, caplog):
    # serve's restarter thread and its stop both wait for the listener's process; when the
    # restarter reaps it first, the stop must still see a process that ended in time
    # (it logged "did not stop within 3.3 s; killing it" 0.3 s after a SIGTERM to the group).
    from tempclock.api.http.kiosk_listener import KioskListener
    from tempclock.api.store import close_store, open_store

    open_store(config)  # migrated, as serve leaves it for its listener
    close_store()
    listener = KioskListener(config, "127.0.0.1", 0)
    listener._spawn()  # without its restarter: this test plays that thread's part
    pid = listener.process.pid
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{listener.port}/kiosk/no-such-link/site", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the kiosk listener never answered"
                time.sleep(0.1)
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)  # reaped by the other thread, which has not yet recorded it
        started = time.monotonic()
        listener.stop()
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    assert time.monotonic() - started < 1.0
    assert "did not stop" not in caplog.text and "killing it" not in caplog.text
