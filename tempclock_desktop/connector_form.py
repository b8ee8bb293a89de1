"""A connector's settings form, generated from the `Setting`s it declares.

One input per setting type (`tempclock.plugins.connectors.SETTING_TYPES`). `values` reads what
the admin entered as the values `connectors.save_settings` takes; a refusal naming a
setting (`Invalid.field`) is shown under that setting's input. A secret is never shown
back: its field stays empty and keeps the saved value until the admin types another.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QDate, QRect, Qt, Signal
from PySide6.QtGui import QFocusEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QStyle,
    QStyleOptionFrame,
    QVBoxLayout,
    QWidget,
)

from tempclock.plugins.connectors import Connector, Setting
from tempclock_desktop.dialogs.fields import OptionalDate
from tempclock_desktop.messages import describe, plain_tip
from tempclock_desktop.widgets import button, label

NUMBER_LIMIT = 1_000_000_000
NOT_SET = "Not set"


def _restyle(widget: QWidget, invalid: bool) -> None:
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def choice_text(choice: str) -> str:
    """How a declared choice reads: `last_week` as "Last week"; `DD/MM/YYYY` as it is."""
    return choice.replace("_", " ").capitalize() if choice.islower() else choice


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date) or value is None:
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


# --- one input per setting type: each has `read()`, `write(value)` and emits `changed` --


class TextInput(QLineEdit):
    """`text`, `url`: a line of text."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        if setting.type == "url":
            self.setPlaceholderText("https://…")
        self.textChanged.connect(lambda _text: self.changed.emit())

    def read(self) -> str:
        return self.text().strip()

    def write(self, value: Any) -> None:
        self.setText("" if value is None else str(value))
        self.setCursorPosition(0)


class SecretInput(QLineEdit):
    """`secret`: typed blind; empty means "keep the saved value" until the admin types."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setEchoMode(QLineEdit.EchoMode.Password)
        self._saved: Any = None
        self._typed = False
        self.textChanged.connect(self._edited)

    def _edited(self, _text: str) -> None:
        self._typed = True
        self.changed.emit()

    def read(self) -> Any:
        return self.text() if self._typed else self._saved

    def write(self, value: Any) -> None:
        self._saved = value
        self.blockSignals(True)
        self.clear()
        self.blockSignals(False)
        self._typed = False
        self.setPlaceholderText("Saved · type to replace it" if value else NOT_SET)


class IntegerInput(QSpinBox):
    """`integer`: a spin box; an optional one has a "Not set" step below the lowest number."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.optional = not setting.required
        self.setRange(-NUMBER_LIMIT - (1 if self.optional else 0), NUMBER_LIMIT)
        if self.optional:
            self.setSpecialValueText(NOT_SET)
        self.setMinimumWidth(140)
        self.valueChanged.connect(lambda _v: self.changed.emit())

    def read(self) -> int | None:
        number = self.value()
        return None if self.optional and number == self.minimum() else number

    def write(self, value: Any) -> None:
        try:
            self.setValue(int(value))
        except (TypeError, ValueError):
            self.setValue(self.minimum() if self.optional else 0)


class DecimalInput(QDoubleSpinBox):
    """`decimal`: like `IntegerInput`, with two decimals."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.optional = not setting.required
        self.setDecimals(2)
        self.setRange(-NUMBER_LIMIT - (1 if self.optional else 0), NUMBER_LIMIT)
        if self.optional:
            self.setSpecialValueText(NOT_SET)
        self.setMinimumWidth(140)
        self.valueChanged.connect(lambda _v: self.changed.emit())

    def read(self) -> float | None:
        number = self.value()
        return None if self.optional and number == self.minimum() else number

    def write(self, value: Any) -> None:
        try:
            self.setValue(float(value))
        except (TypeError, ValueError):
            self.setValue(self.minimum() if self.optional else 0.0)


class BooleanInput(QCheckBox):
    """`boolean`: a check box carrying the setting's label."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__(setting.label)
        self.toggled.connect(lambda _on: self.changed.emit())

    def read(self) -> bool:
        return self.isChecked()

    def write(self, value: Any) -> None:
        self.setChecked(value is True or str(value).lower() in ("1", "true", "yes", "on"))


class ChoiceInput(QComboBox):
    """`choice`: one of the declared choices (or none, when the setting is optional)."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        if not setting.required and setting.default is None:
            self.addItem(NOT_SET, None)
        for choice in setting.choices:
            self.addItem(choice_text(choice), choice)
        self.currentIndexChanged.connect(lambda _i: self.changed.emit())

    def read(self) -> str | None:
        return self.currentData()

    def write(self, value: Any) -> None:
        self.setCurrentIndex(max(self.findData(None if value is None else str(value)), 0))


class MultiChoiceInput(QWidget):
    """`multichoice`: a check box per declared choice."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(4)
        self.boxes: dict[str, QCheckBox] = {}
        for n, choice in enumerate(setting.choices):
            box = QCheckBox(choice_text(choice))
            box.setToolTip(plain_tip(choice))
            box.toggled.connect(lambda _on: self.changed.emit())
            grid.addWidget(box, n // 3, n % 3)
            self.boxes[choice] = box

    def read(self) -> list[str]:
        return [choice for choice, box in self.boxes.items() if box.isChecked()]

    def write(self, value: Any) -> None:
        chosen = value if isinstance(value, list | tuple) else str(value or "").split(",")
        chosen = {str(item).strip() for item in chosen}
        for choice, box in self.boxes.items():
            box.setChecked(choice in chosen)


class DateInput(QWidget):
    """`date`: a date edit; an optional date is ticked on before it counts."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.optional: OptionalDate | None = None
        if setting.required:
            self.date = QDateEdit(QDate.currentDate())
            self.date.setCalendarPopup(True)
            self.date.setDisplayFormat("ddd d MMM yyyy")
            row.addWidget(self.date)
        else:
            self.optional = OptionalDate("Use a date")
            self.date = self.optional.date
            self.optional.enabled.toggled.connect(lambda _on: self.changed.emit())
            row.addWidget(self.optional)
        self.date.dateChanged.connect(lambda _d: self.changed.emit())
        row.addStretch(1)

    def read(self) -> dt.date | None:
        if self.optional is not None:
            return self.optional.value
        return self.date.date().toPython()

    def write(self, value: Any) -> None:
        day = _as_date(value)
        if self.optional is not None:
            self.optional.value = day
        elif day is not None:
            self.date.setDate(QDate(day.year, day.month, day.day))


class PathField(QLineEdit):
    """A path's line edit that, while the admin is not typing in it, shows the path's end
    (the file name, which tells files apart) behind an ellipsis at a whole character,
    never a glyph cut in half at the left edge; the whole path is its tooltip."""

    def _contents(self) -> QRect:
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        margins = self.textMargins()
        return self.style().subElementRect(
            QStyle.SubElement.SE_LineEditContents, option, self).adjusted(
            margins.left() + 2, margins.top(), -margins.right() - 2, -margins.bottom())

    @property
    def shown_text(self) -> str:
        """What the field shows while it has no focus."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideLeft,
                                             self._contents().width())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        shown = self.shown_text
        if self.hasFocus() or shown == self.text():
            super().paintEvent(event)
            return
        painter = QPainter(self)
        option = QStyleOptionFrame()
        self.initStyleOption(option)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelLineEdit, option, painter,
                                   self)
        painter.setPen(self.palette().text().color())
        painter.drawText(self._contents(), Qt.AlignmentFlag.AlignLeft
                         | Qt.AlignmentFlag.AlignVCenter, shown)
        painter.end()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self.end(False)


class PathInput(QWidget):
    """`path`: a file (or, for a setting about a folder, a directory) with Browse…."""

    changed = Signal()

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        # The contract has one `path` type; a setting named like a folder asks for a folder.
        self.folder = any(word in f"{setting.name} {setting.label}".lower()
                          for word in ("dir", "folder"))
        self.text = PathField()
        self.text.setPlaceholderText("Choose a folder…" if self.folder else "Choose a file…")
        self.text.textChanged.connect(self._text_changed)
        row.addWidget(self.text, 1)
        self.browse_button = button("Browse…", "folder", on_click=self.browse)
        row.addWidget(self.browse_button)
        self._caption = setting.label

    def browse(self) -> None:
        start = self.text.text().strip()
        if self.folder:
            chosen = QFileDialog.getExistingDirectory(self, self._caption, start)
        else:
            chosen, _filter = QFileDialog.getOpenFileName(
                self, self._caption, start, "CSV and text files (*.csv *.txt *.tsv);;"
                                            "All files (*)")
        if chosen:
            self.text.setText(chosen)

    def _text_changed(self, text: str) -> None:
        self.text.setToolTip(text)  # the whole path, where the field shows only its end
        if not self.text.hasFocus():
            self.text.end(False)  # the file name is the part that tells files apart
        self.changed.emit()

    def read(self) -> str:
        return self.text.text().strip()

    def write(self, value: Any) -> None:
        self.text.setText("" if value is None else str(value))


INPUTS: dict[str, type[QWidget]] = {
    "text": TextInput,
    "url": TextInput,
    "secret": SecretInput,
    "integer": IntegerInput,
    "decimal": DecimalInput,
    "boolean": BooleanInput,
    "choice": ChoiceInput,
    "multichoice": MultiChoiceInput,
    "date": DateInput,
    "path": PathInput,
}


class SettingField(QWidget):
    """One setting: its input, its help, and the service's refusal when it names it."""

    def __init__(self, setting: Setting) -> None:
        super().__init__()
        self.setting = setting
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        self.input: Any = INPUTS.get(setting.type, TextInput)(setting)
        self.input.setToolTip(plain_tip(setting.help or ""))
        column.addWidget(self.input)
        if setting.help:
            column.addWidget(label(setting.help, "FieldHelp", wrap=True))
        self.error = label("", "FieldError", wrap=True)
        self.error.hide()
        column.addWidget(self.error)
        self._marked = self.input.text if isinstance(self.input, PathInput) else self.input

    @property
    def error_text(self) -> str:
        return self.error.text() if self.error.isVisible() else ""

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        _restyle(self._marked, True)

    def clear_error(self) -> None:
        self.error.hide()
        _restyle(self._marked, False)


class ConnectorSettingsForm(QWidget):
    """The form for one connector's declared settings, filled with the account's saved values."""

    changed = Signal()  # the admin edited a value

    def __init__(self, connector: Connector, saved: Mapping[str, Any],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connector = connector
        self.fields: dict[str, SettingField] = {}
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(10)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for setting in connector.settings:
            field = SettingField(setting)
            field.input.changed.connect(self.changed)
            caption = "" if setting.type == "boolean" else setting.label
            form.addRow(label(caption + (" *" if caption and setting.required else "")), field)
            self.fields[setting.name] = field
        if not connector.settings:
            column.addWidget(label("This connector has no settings.", "Muted"))
        column.addLayout(form)
        self.error = label("", "FormError", wrap=True)
        self.error.hide()
        column.addWidget(self.error)
        self.load(saved)

    def load(self, saved: Mapping[str, Any]) -> None:
        """Show saved values (the declared default where none is saved)."""
        self.blockSignals(True)
        for name, field in self.fields.items():
            field.input.write(saved.get(name, field.setting.default))
        self.blockSignals(False)
        self.clear_errors()

    @property
    def values(self) -> dict[str, Any]:
        """What the admin entered, one value per declared setting."""
        return {name: field.input.read() for name, field in self.fields.items()}

    def field_error(self, name: str) -> str:
        """The refusal shown under setting `name` ("" when none)."""
        return self.fields[name].error_text

    @property
    def error_text(self) -> str:
        return self.error.text() if self.error.isVisible() else ""

    def clear_errors(self) -> None:
        for field in self.fields.values():
            field.clear_error()
        self.error.hide()

    def show_refusal(self, error: BaseException) -> None:
        """Show the service's reason under the setting it names, else under the form."""
        self.clear_errors()
        field = self.fields.get(getattr(error, "field", None) or "")
        if field is not None:
            field.show_error(describe(error))
            field.input.setFocus()
        else:
            self.error.setText(describe(error))
            self.error.show()
