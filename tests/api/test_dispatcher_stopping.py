"""Stopping the dispatcher's process: promptly whatever it is doing, and never leaving it
behind. A loaded machine (CI: two cores, four test processes, coverage) takes seconds to
start it, so a desktop closed soon after it opened asks it to stop while it is starting."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal

from waiting import wait_until

from tempclock.api.dispatcher import DispatcherProcess

STARTS_WITHIN_S = 60.0  # loading it under coverage on a busy box takes seconds


def left_running(process: DispatcherProcess) -> bool:
    return any(child.pid == process.pid for child in multiprocessing.active_children())


def test_a_dispatcher_stopped_while_it_still_loads_ends_at_once_without_being_killed(
        config, store, caplog):
    process = DispatcherProcess(config)
    process.stop()  # long before it could load its code, let alone deliver anything
    assert process.exitcode == -signal.SIGTERM  # ended where it was, with nothing to save
    assert "killing it" not in caplog.text
    assert not left_running(process)


def test_a_dispatcher_told_to_stop_during_its_start_up_ends_without_starting_deliveries(
        config, store, capfd, caplog):
    process = DispatcherProcess(config)
    # Asked often: its start-up (opening the store, building its senders) is short.
    assert wait_until(lambda: process.hears_stop, STARTS_WITHIN_S, every=0.01)
    process.stop()  # it is opening the store and building its senders now
    assert process.exitcode == 0  # it ended by itself, not killed
    err = capfd.readouterr().err
    assert "the dispatcher was told to stop while starting" in err
    assert "the dispatcher is running" not in err  # the rest of its start was skipped
    assert "killing it" not in caplog.text
    assert not left_running(process)


def test_a_dispatcher_that_cannot_stop_in_time_is_killed_and_gone_when_stop_returns(
        config, store, capfd, caplog):
    process = DispatcherProcess(config)
    assert wait_until(lambda: "the dispatcher is running" in capfd.readouterr().err,
                      STARTS_WITHIN_S)
    os.kill(process.pid, signal.SIGSTOP)  # frozen: it cannot stop by itself
    with caplog.at_level(logging.WARNING, logger="tempclock.dispatcher"):
        process.stop(timeout=0.5)
    assert process.exitcode == -signal.SIGKILL
    assert "did not stop within 0.5 s; killing it" in caplog.text
    assert not left_running(process)
