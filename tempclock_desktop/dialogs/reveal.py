"""The one-time reveal of a secret (an API key, a webhook signing secret), with Copy."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from tempclock_desktop import theme
from tempclock_desktop.widgets import button, label


class SecretRevealDialog(QDialog):
    """Shows a secret once. The secret lives only in this dialog, which deletes itself on
    close: there is no way to open it again."""

    def __init__(self, parent: QWidget | None, *, title: str, heading: str, intro: str,
                 secret: str, warning: str, details: str, done_text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(True)
        self.setMinimumWidth(600)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(22, 20, 22, 18)
        outer.setSpacing(12)
        outer.addWidget(label(heading, "SectionTitle"))
        outer.addWidget(label(intro, "Muted", wrap=True))
        row = QHBoxLayout()
        self.secret_text = QLineEdit(secret)
        self.secret_text.setObjectName("KeyText")
        self.secret_text.setReadOnly(True)
        self.secret_text.ensurePolished()  # the stylesheet's monospace font, to measure with
        margins = self.secret_text.textMargins()
        self.secret_text.setMinimumWidth(  # every character shows, the last one too
            self.secret_text.fontMetrics().horizontalAdvance(secret) + 32 + margins.left()
            + margins.right())
        self.secret_text.setCursorPosition(0)
        row.addWidget(self.secret_text, 1)
        self.copy_button = button("Copy", "copy", role="primary", on_click=self.copy)
        row.addWidget(self.copy_button)
        outer.addLayout(row)
        strip = QWidget()
        strip.setObjectName("Banner")
        strip.setProperty("kind", "warning")
        line = QHBoxLayout(strip)
        line.setContentsMargins(10, 8, 10, 8)
        sign = QLabel()
        sign.setPixmap(theme.pixmap("warning", "#b45309", 18))
        line.addWidget(sign, 0, Qt.AlignmentFlag.AlignTop)
        line.addWidget(label(warning, wrap=True), 1)
        outer.addWidget(strip)
        outer.addWidget(label(details, "Muted", wrap=True))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.done_button = button(done_text, on_click=self.accept)
        buttons.addWidget(self.done_button)
        outer.addLayout(buttons)

    def copy(self) -> None:
        """Put the secret on the clipboard."""
        QGuiApplication.clipboard().setText(self.secret_text.text())
        self.copy_button.setText("Copied")
        QTimer.singleShot(2000, self.copy_button, lambda: self.copy_button.setText("Copy"))
