"""The desktop started with a setting it cannot use tells the admin which one and why, in a
message, and exits with an error; no traceback is all they get."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tempclock_desktop.app import run


def _read_and_close_the_message(seen: list[str]) -> None:
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        QTimer.singleShot(50, lambda: _read_and_close_the_message(seen))
        return
    seen.append(f"{box.windowTitle()}\n{box.text()}")
    box.accept()


@pytest.mark.parametrize("port", ["abc", "0", "70000", "80 80", "-1"])
def test_a_port_setting_that_is_not_a_port_is_explained_and_the_desktop_exits(
        qtbot, tmp_path, monkeypatch, port):
    monkeypatch.setenv("TEMPCLOCK_PORT", port)
    seen: list[str] = []
    QTimer.singleShot(0, lambda: _read_and_close_the_message(seen))
    assert run(tmp_path / "data") == 1
    (message,) = seen
    assert "could not start" in message
    assert "TEMPCLOCK_PORT" in message and repr(port) in message
    assert not (tmp_path / "data" / "tempclock.db").exists()  # nothing was opened or made
