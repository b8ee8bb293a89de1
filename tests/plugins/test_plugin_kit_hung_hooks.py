"""A plugin author's test with a hook that overruns its budget: the kit says so, and the hook
returning after the kit has closed leaves no error behind in the author's test run."""

from __future__ import annotations

import threading

import pytest

from tempclock.plugins import hookimpl
from tempclock.plugins.testing import PluginFailed, TempClock


def test_a_hook_returning_after_the_kit_closed_leaves_no_error_behind(tmp_path, monkeypatch):
    release, returned = threading.Event(), threading.Event()
    failures: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))

    class Slow:
        @hookimpl
        def clock_in(self, event, context):
            release.wait(30)
            returned.set()

    kit = TempClock(tmp_path / "data", hook_timeout=0.5)
    try:
        kit.use(Slow(), "slow")
        kit.clock_in(kit.add_worker(location=kit.add_location()))
        with pytest.raises(PluginFailed, match="did not return within 0.5 s"):
            kit.dispatch()
    finally:
        kit.close()
    (lane,) = [t for t in threading.enumerate() if t.name == "plugin-slow"]
    release.set()  # the hook returns now, after the store was closed
    lane.join(30)
    assert returned.is_set() and not lane.is_alive()
    assert failures == []
