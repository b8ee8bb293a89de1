"""Start-up: the window paints before the web stack and the other screens load, then the API
comes up and the screens load in the background; the sidebar names each screen as the screen
itself does."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tempclock_desktop.main_window import SECTIONS

ENTRIES = [(key, entry) for _caption, entries in SECTIONS for key, entry in entries]

CHILD = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject
from tempclock.api.config import load_config
from tempclock_desktop.app import Desktop, application

class FirstPaint(QObject):
    seen = None
    def eventFilter(self, watched, event):
        if self.seen is None and event.type() == QEvent.Type.Paint:
            self.seen = sorted(name for name in sys.modules
                               if name.split(".")[0] in ("litestar", "uvicorn", "redis")
                               or name.startswith("tempclock_desktop.panels."))
        return False

app = application([])
probe = FirstPaint()
app.installEventFilter(probe)
desktop = Desktop.start(load_config(sys.argv[1]), serve=True, port=0)
desktop.window.show()
deadline = time.monotonic() + 60
while not desktop.server.running and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.005)
print("loaded at first paint:", " ".join(probe.seen))
print("server:", desktop.server.state, desktop.server.api_url)
import httpx
print("answer:", httpx.get(desktop.server.api_url + "workers").status_code)
deadline = time.monotonic() + 60
while desktop.window._to_preload and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.005)
print("loaded later:", " ".join(sorted(name for name in sys.modules
                                       if name.startswith("tempclock_desktop.panels."))))
desktop.stop()
"""


def test_the_window_paints_before_the_web_stack_and_other_screens_load_then_the_api_serves(
        tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "data")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    loaded = lines["loaded at first paint"].split()
    assert not [m for m in loaded if m.split(".")[0] in ("litestar", "uvicorn", "redis")]
    # The first screen's; on a first run the getting-started guide shows, which issues keys.
    assert set(loaded) <= {"tempclock_desktop.panels.base", "tempclock_desktop.panels.on_site",
                           "tempclock_desktop.panels.api_keys"}
    assert lines["server"].startswith("running")
    assert lines["answer"] == "401"  # the API is up (and asks for a key)
    later = set(lines["loaded later"].split())
    assert {"tempclock_desktop.panels." + entry.where.partition(":")[0]
            for _key, entry in ENTRIES} <= later  # ready before the admin clicks


@pytest.mark.parametrize("key, entry", ENTRIES, ids=[key for key, _entry in ENTRIES])
def test_the_sidebar_names_each_screen_as_the_screen_does(key, entry):
    panel = entry.load()
    assert (entry.title, entry.icon_name) == (panel.title, panel.icon_name)
