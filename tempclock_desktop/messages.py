"""How the desktop tells the admin something: errors in words, confirmations, notices.

The one mapping from domain errors to desktop messages (the HTTP layer has its
own). Message boxes open window-modal and return at once, so no nested event
loop runs while background work is delivering its results. Whatever the admin
reads is plain text: message boxes never render markup, and tooltips holding user
data go through `plain_tip`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from peewee import PeeweeException
from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as QtText  # Qt's text helpers (mightBeRichText...)
from PySide6.QtWidgets import QMessageBox, QWidget

from tempclock.api.services.errors import DomainError

log = logging.getLogger(__name__)


def describe(error: BaseException) -> str:
    """A sentence for the admin: a domain error's own message, else what went wrong in plain words."""
    if isinstance(error, DomainError):
        return error.message
    if isinstance(error, PeeweeException | sqlite3.Error):
        return f"The database could not be used: {error}"
    if isinstance(error, OSError):
        return f"The system refused: {error.strerror or error}"
    log.error("unexpected error", exc_info=error)
    return f"Something went wrong: {error or type(error).__name__}"


def plain_tip(text: str) -> str:
    """`text` as a tooltip shows it literally (Qt renders a tooltip that looks like markup)."""
    if not QtText.mightBeRichText(text):
        return text
    return QtText.convertFromPlainText(text, Qt.WhiteSpaceMode.WhiteSpaceNormal)


def _box(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)  # messages carry names: never markup
    box.setObjectName("MessageBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return box


def show_error(parent, error: BaseException, title: str = "Could not do that") -> QMessageBox:
    """Show `error` in words, window-modal, without blocking."""
    widget = parent if isinstance(parent, QWidget) else None
    box = _box(widget, QMessageBox.Icon.Warning, title, describe(error))
    box.addButton(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def show_notice(parent: QWidget | None, title: str, text: str) -> QMessageBox:
    """An informational message, without blocking."""
    box = _box(parent, QMessageBox.Icon.Information, title, text)
    box.addButton(QMessageBox.StandardButton.Ok)
    box.open()
    return box


def confirm(parent: QWidget, title: str, text: str, action: str,
            on_yes: Callable[[], None], *, danger: bool = False) -> QMessageBox:
    """Ask before doing something that cannot be undone; `on_yes` runs only on the action button."""
    box = _box(parent, QMessageBox.Icon.Warning if danger else QMessageBox.Icon.Question,
               title, text)
    yes = box.addButton(action, QMessageBox.ButtonRole.AcceptRole)
    if danger:
        yes.setProperty("role", "danger")
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.accepted.connect(on_yes)
    box.open()
    return box
