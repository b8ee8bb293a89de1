"""Helpers for driving real widgets in the desktop tests."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from tempclock_desktop.operations import running_operations

TIMEOUT_MS = 15_000
# Building and serving the API, or starting the dispatcher process, under coverage on a
# loaded 2-core CI box takes far longer than a click's answer.
STARTS_WITHIN_MS = 60_000


def settle(qtbot, timeout: int = TIMEOUT_MS) -> None:
    """Wait until no background operation is running or waiting to deliver."""
    qtbot.waitUntil(lambda: running_operations() == 0, timeout=timeout)


def visible_message_box(qtbot, containing: str = "", timeout: int = TIMEOUT_MS) -> QMessageBox:
    """The message box now open whose text contains `containing`."""
    found: list[QMessageBox] = []

    def look() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, QMessageBox) and w.isVisible() and (containing in w.text() or containing in w.windowTitle())]
        return bool(found)

    try:
        qtbot.waitUntil(look, timeout=timeout)
    except Exception:
        shown = [w.text() for w in QApplication.topLevelWidgets()
                 if isinstance(w, QMessageBox) and w.isVisible()]
        raise AssertionError(f"no message box says {containing!r}; open: {shown}") from None
    return found[0]


def click_button(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text().replace("&", "") == text)
    button.click()


def find_dialog(qtbot, parent: QWidget, kind: type) -> QWidget:
    found: list[QWidget] = []

    def look() -> bool:
        found[:] = [d for d in parent.findChildren(kind) if d.isVisible()]
        return bool(found)

    qtbot.waitUntil(look, timeout=TIMEOUT_MS)
    return found[0]


def column_texts(model, column: int) -> list[str]:
    return [model.data(model.index(row, column)) for row in range(model.rowCount())]


def select_row(view, text: str, column: int = 0) -> None:
    """Select the first row of a view whose `column` shows `text`."""
    model = view.model()
    for row in range(model.rowCount()):
        if model.data(model.index(row, column)) == text:
            view.selectRow(row)
            return
    raise AssertionError(f"no row shows {text!r}: {column_texts(model, column)}")


def gone(widget: QWidget) -> bool:
    """Closed (dialogs delete themselves on close)."""
    return not shiboken6.isValid(widget) or not widget.isVisible()
