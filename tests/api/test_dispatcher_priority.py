"""The dispatcher's delivery work yields to the API on a busy machine, while the threads
that hear and carry out a stop request keep the host's priority (so stopping stays prompt)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tempclock.api import priority
from tempclock.api.dispatcher import DispatcherProcess
from tempclock.api.services import clocking, webhooks
from tests.conftest import allow_internal_targets

pytestmark = [pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads each thread's niceness from /proc"),
              pytest.mark.sqlite_only]  # about threads, not the store

SENDERS = 8  # the dispatcher's pool
LOOPS = 5  # fan-out, delivery, recorder, retention, lateness
# Besides the main thread (it starts and stops the dispatcher): the watch on the host's
# pipe, the plugin process's supervisor and the reader of its reports.
CONTROL_THREADS = 3


def niceness_of_threads(pid: int) -> dict[int, int]:
    """Thread id -> niceness, for every thread of process `pid`."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        found[int(task.name)] = int(fields[16])  # stat's 19th field, after pid and comm
    return found


def test_every_thread_of_the_dispatcher_that_delivers_runs_below_the_api_and_its_stop_does_not(
        config, account, site, make_worker, receiver):
    allow_internal_targets(account.id)
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(url=receiver.url + "/hook",
                                                               events=["clock_in"]))
    receiver.delay = 1.0  # senders busy at once, each in a pool thread of its own
    for _ in range(SENDERS):
        clocking.clock_in(account.id, make_worker(account.id, location_id=site.id).id)
    host = os.getpriority(os.PRIO_PROCESS, 0)
    process = DispatcherProcess(config)
    try:
        receiver.wait_for(SENDERS, timeout=60)
        threads = niceness_of_threads(process.pid)
    finally:
        process.stop()
    assert len(receiver.requests) >= SENDERS
    assert threads.pop(process.pid) == host  # it starts and stops the dispatcher
    background = [tid for tid, niceness in threads.items() if niceness > host]
    at_host_priority = [tid for tid, niceness in threads.items() if niceness <= host]
    assert len(background) > LOOPS, threads  # the loops and the pool's senders
    assert len(at_host_priority) <= CONTROL_THREADS, threads
    assert {threads[tid] for tid in background} == {priority.background_niceness()}
    assert process.exitcode == 0  # it stopped by itself when asked, not killed


def test_a_lowered_thread_leaves_the_thread_that_started_it_at_normal_priority():
    seen = {}

    def work():
        priority.lower_this_thread()
        priority.lower_this_thread()  # twice is once
        seen["worker"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    starter = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["worker"] == min(priority.MOST_NICE, starter + priority.BACKGROUND_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == starter


def test_background_work_of_a_host_started_niced_still_comes_after_the_host():
    script = ("import os, threading; from tempclock.api import priority\n"
              "def work():\n"
              "    priority.lower_this_thread()\n"
              "    print(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))\n"
              "t = threading.Thread(target=work); t.start(); t.join()\n"
              "print(os.getpriority(os.PRIO_PROCESS, 0))\n")
    out = subprocess.run(["nice", "-n", "5", sys.executable, "-c", script], capture_output=True,
                         text=True, check=True, timeout=60).stdout.split()
    host = int(out[1])
    assert int(out[0]) == min(priority.MOST_NICE, host + priority.BACKGROUND_NICENESS) > host
