"""A killed child is reported gone once it has ended, even when another thread of the host
reaped it first (the kiosk listener's restarter joins its process all the time): no false
"was killed but is still there" in the admin's log."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time

import pytest

from tempclock.api.processes import kill_and_reap

pytestmark = pytest.mark.sqlite_only  # no store is used


def _sleep_for_ever() -> None:
    while True:
        time.sleep(1)


def test_a_killed_process_another_thread_reaped_is_gone_without_an_error(caplog):
    process = multiprocessing.get_context("spawn").Process(target=_sleep_for_ever, daemon=True)
    process.start()
    watcher = threading.Thread(target=process.join, daemon=True)  # as the restarter does
    watcher.start()
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="tempclock.processes"):
        assert kill_and_reap(process, "the sleeper") is True
    watcher.join(5)
    assert not watcher.is_alive()
    assert "still there" not in caplog.text
    assert time.monotonic() - started < 4  # it did not wait out the 5 s bound either
