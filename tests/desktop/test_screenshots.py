"""The screenshot script writes a non-empty PNG of every panel, of the connector settings
forms, of the key and webhook dialogs, of each step of the getting-started guide and of each
empty panel of a first start; it leaves no server or dispatcher running."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading

from PySide6.QtGui import QImage

from tempclock_desktop.guide import STEPS
from tempclock_desktop.main_window import SECTIONS
from tempclock_desktop.screenshots import EMPTY_PANELS, take


def test_every_panel_and_the_key_reveal_dialog_is_photographed(qtbot, tmp_path):
    written = take(tmp_path / "shots")
    names = [path.name for path in written]
    panels = [key for _caption, entries in SECTIONS for key, _panel in entries]
    assert len(names) >= len(panels) + 2
    assert names[-1].endswith("key-reveal-dialog.png")
    for key in panels:
        assert any(name.endswith(f"-{key}.png") for name in names), key
    for shot in ("connectors-payroll-csv", "connectors-crm-push", "add-webhook-dialog",
                 "webhook-secret-dialog"):
        assert any(name.endswith(f"-{shot}.png") for name in names), shot
    for shot in ("pin-dialog", "pin-slip", "listener-card", "link-dialog", "poster",
                 "on-site-expected-not-here"):
        assert f"kiosk-{shot}.png" in names, shot
    for n, (step, _caption) in enumerate(STEPS, start=1):
        assert f"first-run-{n}-{step}.png" in names, step
    for key in EMPTY_PANELS:
        assert f"empty-{key.replace('_', '-')}.png" in names, key
    for path in written:
        image = QImage(str(path))
        assert path.stat().st_size > 5_000, path
        assert image.width() >= 400 and image.height() >= 200, path
        if "first-run" in path.name or path.name.startswith("empty-"):
            assert (image.width(), image.height()) == (1440, 900), path
    assert not [t for t in threading.enumerate() if t.name.startswith("tempclock-api")]
    assert not multiprocessing.active_children()


def test_the_screenshot_script_explains_itself_with_help(tmp_path):
    run = subprocess.run([sys.executable, "-m", "tempclock_desktop.screenshots", "--help"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0
    assert "out_dir" in run.stdout and "PNG" in run.stdout
    assert list(tmp_path.iterdir()) == []  # nothing photographed, no folder called --help
