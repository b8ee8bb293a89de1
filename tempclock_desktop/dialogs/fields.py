"""Inputs forms share: optional dates and numbers, nullable text."""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QDate, QLocale, QTime
from PySide6.QtGui import QDoubleValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTimeEdit,
    QWidget,
)

from tempclock.api.services.errors import Invalid


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


class TimeSpan(QWidget):
    """A day and a from–to time; an end at or before the start means the next day."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.day = QDateEdit(QDate.currentDate())
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("ddd d MMM yyyy")
        self.day.setMinimumWidth(160)
        self.start = QTimeEdit(QTime(6, 0))
        self.end = QTimeEdit(QTime(14, 0))
        row.addWidget(self.day, 1)
        for caption, edit in (("from", self.start), ("to", self.end)):
            edit.setDisplayFormat("HH:mm")
            edit.setFixedWidth(86)
            edit.timeChanged.connect(lambda _t: self._times_changed())
            row.addWidget(QLabel(caption))
            row.addWidget(edit)
        self.overnight = QLabel()
        self.overnight.setObjectName("Muted")
        row.addWidget(self.overnight)
        self._times_changed()

    def _times_changed(self) -> None:
        self.overnight.setText("+1 day" if self.end.time() <= self.start.time() else "")

    def set_span(self, start: dt.datetime, end: dt.datetime) -> None:
        """Show local (naive or aware, already in the site's zone) start and end."""
        self.day.setDate(QDate(start.year, start.month, start.day))
        self.start.setTime(QTime(start.hour, start.minute))
        self.end.setTime(QTime(end.hour, end.minute))

    def set_day(self, day: dt.date) -> None:
        self.day.setDate(QDate(day.year, day.month, day.day))

    @property
    def span(self) -> tuple[dt.datetime, dt.datetime]:
        """Start and end as naive local times at the site (the services read them so)."""
        day = self.day.date().toPython()
        start = dt.datetime.combine(day, self.start.time().toPython())
        end = dt.datetime.combine(day, self.end.time().toPython())
        if end <= start:
            end += dt.timedelta(days=1)
        return start, end


def worker_items(found: list) -> list[tuple[str, int]]:
    """Workers as a combo box lists them: by surname, with their employee reference."""
    ordered = sorted(found, key=lambda w: (w.last_name, w.first_name))
    return [(f"{w.name} ({w.employee_ref})" if w.employee_ref else w.name, w.id) for w in ordered]
