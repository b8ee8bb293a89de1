"""Small widgets every panel shares: cards, banners, empty states, search, tables.

User data (names, paths, descriptions, user agents) is always shown as plain text:
Qt guesses that a label or a tooltip starting with a tag is markup, so `label` is
plain unless told `rich` (then anything of the user's in it goes through
`html.escape`), and tooltips go through `messages.plain_tip`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from tempclock_desktop import theme
from tempclock_desktop.models.records import SORT_ROLE


def button(text: str, icon_name: str | None = None, *, role: str | None = None,
           on_click: Callable[[], None] | None = None, tip: str | None = None) -> QPushButton:
    """A push button in the house style; `role` is "primary" or "danger"."""
    widget = QPushButton(text)
    if icon_name:
        colour = "#ffffff" if role == "primary" else (theme.DANGER if role == "danger"
                                                      else theme.INK)
        widget.setIcon(theme.icon(icon_name, colour))
        widget.setIconSize(theme.ICON_SIZE)
    if role:
        widget.setProperty("role", role)
    if on_click is not None:
        widget.clicked.connect(lambda _checked=False: on_click())
    if tip:
        widget.setToolTip(tip)
    widget.setCursor(Qt.CursorShape.PointingHandCursor)
    return widget


def label(text: str = "", name: str | None = None, *, wrap: bool = False,
          rich: bool = False) -> QLabel:
    """A label showing `text` as it is; `rich` for markup of our own around escaped data."""
    widget = QLabel(text)
    widget.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if name:
        widget.setObjectName(name)
    widget.setWordWrap(wrap)
    return widget


class Card(QFrame):
    """A white rounded box that groups related things."""

    def __init__(self, parent: QWidget | None = None, *, margins: int = 14) -> None:
        super().__init__(parent)
        self.setObjectName("Card")
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(margins, margins, margins, margins)
        self.body.setSpacing(8)


class Banner(QFrame):
    """A coloured strip with a message and optional actions (alerts, warnings, notices)."""

    def __init__(self, kind: str = "info", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Banner")
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        self._icon = QLabel()
        self.set_kind(kind)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        row.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        self.actions = QHBoxLayout()
        row.addLayout(self.actions)
        self.hide()

    def set_kind(self, kind: str) -> None:
        """Colour the strip as "info", "warning" or "danger"."""
        self.setProperty("kind", kind)
        self._icon.setPixmap(theme.pixmap("warning", theme.DANGER if kind == "danger"
                                          else "#b45309" if kind == "warning" else theme.ACCENT,
                                          20))
        self.style().unpolish(self)
        self.style().polish(self)

    def show_message(self, markup: str) -> None:
        """Show `markup` (rich text: escape anything of the user's in it)."""
        self.text.setText(markup)
        self.show()


class ChoiceGrid(QWidget):
    """Ticks in columns: each a friendly name, its id in small print below and its help as
    a tooltip (the scopes of a key, the events of a webhook). `chosen` is the ticked ids."""

    changed = Signal()

    def __init__(self, choices: Iterable[tuple[str, str, str]], chosen: Iterable[str] = (),
                 *, columns: int = 2, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(2)
        ticked = set(chosen)
        self.boxes: dict[str, QCheckBox] = {}
        for n, (ident, name, help_text) in enumerate(choices):
            box = QCheckBox(name)
            box.setToolTip(f"{help_text} ({ident})")
            box.setChecked(ident in ticked)
            box.toggled.connect(lambda _on: self.changed.emit())
            hint = label(ident, "IdHint")
            hint.setToolTip(help_text)
            cell = QVBoxLayout()
            cell.setSpacing(0)
            cell.addWidget(box)
            cell.addWidget(hint)
            grid.addLayout(cell, n // columns, n % columns)
            self.boxes[ident] = box

    @property
    def chosen(self) -> list[str]:
        return [ident for ident, box in self.boxes.items() if box.isChecked()]


class EmptyState(QWidget):
    """What a panel shows when there is nothing yet: a sentence and the way forward."""

    def __init__(self, icon_name: str, title: str, text: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        picture = QLabel()
        picture.setPixmap(theme.pixmap(icon_name, "#94a3b8", 48))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(picture)
        self.title = label(title, "EmptyTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.title)
        self.text = label(text, "Muted", wrap=True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setFixedWidth(460)
        holder = QHBoxLayout()
        holder.addStretch(1)
        holder.addWidget(self.text)
        holder.addStretch(1)
        outer.addLayout(holder)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        self.buttons.addStretch(1)
        outer.addSpacing(8)
        self.details = QVBoxLayout()  # anything shown between the text and the buttons
        outer.addLayout(self.details)
        outer.addLayout(self.buttons)
        outer.addStretch(2)

    def add_detail(self, widget: QWidget) -> QWidget:
        """Something to show above the buttons (an example, a command), centred."""
        self.details.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        return widget

    def add_button(self, widget: QPushButton) -> QPushButton:
        """A way forward, centred with the others."""
        self.buttons.insertWidget(self.buttons.count() - 1, widget)
        return widget


class SearchField(QLineEdit):
    """A search box that reports its text once typing pauses."""

    search_changed = Signal(str)

    def __init__(self, placeholder: str = "Search", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setClearButtonEnabled(True)
        self.addAction(theme.icon("search", "#94a3b8"), QLineEdit.ActionPosition.LeadingPosition)
        self.setMinimumWidth(240)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(250)
        self._timer.timeout.connect(lambda: self.search_changed.emit(self.text().strip()))
        self.textChanged.connect(lambda _text: self._timer.start())

    def flush(self) -> None:
        """Report the current text now (tests, Enter)."""
        self._timer.stop()
        self.search_changed.emit(self.text().strip())


class SortProxy(QSortFilterProxyModel):
    """Sorts by each column's sort key and filters on every column's text."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)


def house_table(view: QTableView) -> QTableView:
    """Give `view` the house style: whole-row selection, no row numbers, no wrapping."""
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(30)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setHighlightSections(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    return view


def panes(orientation: Qt.Orientation, *widgets: QWidget, stretch: Sequence[int],
          sizes: Sequence[int], collapsible: bool = False) -> QSplitter:
    """`widgets` side by side (or one above the other) in a splitter the admin can drag,
    sharing new room as `stretch` says; none can be dragged shut unless `collapsible`."""
    splitter = QSplitter(orientation)
    splitter.setChildrenCollapsible(collapsible)
    for n, (widget, factor) in enumerate(zip(widgets, stretch, strict=True)):
        splitter.addWidget(widget)
        splitter.setStretchFactor(n, factor)
    splitter.setSizes(list(sizes))
    return splitter


def combo_pick(combo, ident: Any) -> None:
    """Select the combo entry whose data is `ident`."""
    index = combo.findData(ident)
    combo.setCurrentIndex(max(index, 0))


def fill_combo(combo, items: Sequence[tuple[str, Any]], *, none: str | None = None) -> None:
    combo.clear()
    if none is not None:
        combo.addItem(none, None)
    for text, data in items:
        combo.addItem(text, data)


def hline() -> QFrame:
    line = QFrame()
    line.setFrameShape(QFrame.Shape.HLine)
    line.setStyleSheet("color: #e2e8f0;")
    return line
