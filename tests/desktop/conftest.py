"""Fixtures for driving the real desktop app offscreen: a window on a temp SQLite store,
optionally serving the real API on a free loopback port (with the real dispatcher process
beside it), and helpers to find dialogs."""

from __future__ import annotations

import multiprocessing
import threading

import httpx
import pytest
from desktop_helpers import STARTS_WITHIN_MS, TIMEOUT_MS, settle
from PySide6.QtWidgets import QApplication

from tempclock_desktop.app import Desktop, application
from tempclock_desktop.operations import wait_for_operations


@pytest.fixture
def start_desktop(qtbot, config):
    """Start the desktop on the test's data directory; everything is stopped afterwards."""
    application()
    started: list[Desktop] = []

    def start(*, serve: bool = False, port: int | None = 0, wait: bool = True,
              plugins=None) -> Desktop:
        desktop = Desktop.start(config, serve=serve, port=port, plugins=plugins)
        started.append(desktop)
        desktop.window.show()
        if wait:
            qtbot.waitUntil(lambda: desktop.session.account is not None, timeout=TIMEOUT_MS)
            settle(qtbot)
            if serve:
                qtbot.waitUntil(lambda: desktop.server.state in ("running", "failed"),
                                timeout=STARTS_WITHIN_MS)
        return desktop

    yield start
    for desktop in started:
        desktop.stop()
    wait_for_operations()
    QApplication.processEvents()
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("tempclock-api")]
    assert not leftovers, f"server threads left running: {leftovers}"
    dispatchers = [p.pid for p in multiprocessing.active_children()
                   if p.name == "tempclock-dispatcher"]
    assert not dispatchers, f"dispatcher processes left running: {dispatchers}"


@pytest.fixture
def api_client():
    clients: list[httpx.Client] = []

    def make(base_url: str) -> httpx.Client:
        client = httpx.Client(base_url=base_url, timeout=10)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

