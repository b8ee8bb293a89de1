"""The base of every add/edit dialog: OK saves through a service, a refusal shows in words.

The panel gives the dialog a `save(payload)` function; on OK the dialog reads its
`payload` property on the GUI thread, runs `save` as a background `Operation`, and
either closes (emitting `saved`) or keeps the admin's input and shows the
service's message, marking the field it names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services.errors import DomainError, Invalid
from tempclock_desktop.messages import describe
from tempclock_desktop.operations import Operation
from tempclock_desktop.widgets import label


class FormDialog(QDialog):
    """A titled form with a Save button that runs a service call in the background."""

    saved = Signal(object)  # what `save` returned

    def __init__(self, parent: QWidget | None, title: str, *, save_text: str = "Save",
                 save: Callable[[Any], Any] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName(title.lower().replace(" ", "-") + "-dialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setModal(True)
        self.setMinimumWidth(440)
        self._save = save
        self.fields: dict[str, QWidget] = {}  # service field name -> its input, to mark errors
        outer = QVBoxLayout(self)
        outer.setContentsMargins(20, 18, 20, 16)
        outer.setSpacing(12)
        heading = label(title, "SectionTitle")
        outer.addWidget(heading)
        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.form.setHorizontalSpacing(12)
        self.form.setVerticalSpacing(8)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(self.form)
        self.body = outer
        self.error = label("", "FormError", wrap=True)
        self.error.hide()
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setText(save_text)
        self.save_button.setProperty("role", "primary")
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self._tail_added = False

    def add_row(self, text: str, widget: QWidget | Any, field: str | None = None) -> None:
        """A labelled input; `field` is the service's name for it, so errors can point at it."""
        self.form.addRow(text, widget)
        if field is not None and isinstance(widget, QWidget):
            self.fields[field] = widget

    def showEvent(self, event) -> None:  # noqa: N802
        if not self._tail_added:
            self.body.addWidget(self.error)
            self.body.addWidget(self.buttons)
            self._tail_added = True
        super().showEvent(event)

    @property
    def payload(self) -> Any:
        """What the admin entered, as the value `save` takes. Subclasses define it."""
        raise NotImplementedError

    @property
    def error_text(self) -> str:
        return self.error.text() if self.error.isVisible() else ""

    def check(self) -> str | None:
        """A refusal the form can give before asking the service (None when fine)."""
        return None

    def accept(self) -> None:
        problem = self.check()
        if problem:
            self.show_refusal(Invalid(problem))
            return
        try:
            payload = self.payload
        except DomainError as error:
            self.show_refusal(error)
            return
        if self._save is None:
            super().accept()
            return
        self.save_button.setEnabled(False)
        self.error.hide()
        save = self._save
        Operation(self, lambda: save(payload), success=self._saved,
                  failure=self.show_refusal).run()

    def _saved(self, result: Any) -> None:
        self.saved.emit(result)
        super().accept()

    def show_refusal(self, error: BaseException) -> None:
        """Keep the dialog open with the reason in words and the named field marked."""
        self.save_button.setEnabled(True)
        for widget in self.fields.values():
            widget.setProperty("invalid", False)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        self.error.setText(describe(error))
        self.error.show()
        field = getattr(error, "field", None) or (getattr(error, "details", {}) or {}).get("field")
        widget = self.fields.get(field or "")
        if widget is not None:
            widget.setProperty("invalid", True)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
            widget.setFocus()
