"""Inputs forms share: optional dates and numbers, nullable text."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QLocale
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import QCheckBox, QDateEdit, QHBoxLayout, QLineEdit, QWidget

from api.services.errors import Invalid


class OptionalDate(QWidget):
    """A date the admin may leave out: a check box enables the date."""

    def __init__(self, caption: str, value: dt.date | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.enabled = QCheckBox(caption)
        self.date = QDateEdit()
        self.date.setCalendarPopup(True)
        self.date.setDisplayFormat("ddd d MMM yyyy")
        self.date.setDate(QDate.currentDate())
        self.enabled.toggled.connect(self.date.setEnabled)
        row.addWidget(self.enabled)
        row.addWidget(self.date, 1)
        self.value = value

    @property
    def value(self) -> dt.date | None:
        return self.date.date().toPython() if self.enabled.isChecked() else None

    @value.setter
    def value(self, value: dt.date | None) -> None:
        self.enabled.setChecked(value is not None)
        self.date.setEnabled(value is not None)
        if value is not None:
            self.date.setDate(QDate(value.year, value.month, value.day))


class NumberField(QLineEdit):
    """A decimal number or nothing (coordinates)."""

    def __init__(self, low: float, high: float, decimals: int, placeholder: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        validator = QDoubleValidator(low, high, decimals, self)
        validator.setLocale(QLocale.c())
        validator.setNotation(QDoubleValidator.Notation.StandardNotation)
        self.setValidator(validator)
        self.setPlaceholderText(placeholder)

    def number(self, field: str) -> float | None:
        text = self.text().strip()
        if not text:
            return None
        try:
            return float(text)
        except ValueError:
            raise Invalid(f"{field} must be a number", field=field) from None

    def set_number(self, value: float | None) -> None:
        self.setText("" if value is None else f"{value:g}")


def text_or_none(widget: QLineEdit) -> str | None:
    """The trimmed text of a line edit, or None when blank."""
    text = widget.text().strip()
    return text or None
