"""`RecordTable`: every list of records in the panels, set up once.

It builds the model → (sort proxy) → view chain and owns how columns behave:
each is sized to its content (measured on the loaded rows, at most `SAMPLE_ROWS`
of them, never the whole store) between its minimum and maximum, one useful
column takes the room left over (or gives some up when the rest need it), the
admin's widths and hidden columns are remembered per table in the desktop
settings, the header's context menu is a column chooser, and every cell's full
text is its tooltip (the model's).

Sorting is one of three kinds: `LOCAL` (the proxy sorts what is loaded, after
loading the rest), `SERVER` (the panel asks the service for another order:
`sort_requested`), or `NONE` (the order is the point: newest first).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QFont, QFontMetrics
from PySide6.QtWidgets import QMenu, QTableView, QWidget

from tempclock_desktop.models.records import RECORD_ROLE, Column, RecordTableModel
from tempclock_desktop.session import Session
from tempclock_desktop.settings import TableLayout
from tempclock_desktop.widgets import SortProxy, house_table

LOCAL, SERVER, NONE = "local", "server", "none"
SAMPLE_ROWS = 200  # size to content from the first rows loaded, not from every row
CELL_PADDING = 30  # the stylesheet's item padding (8 px a side) and the style's text margins
HEADER_PADDING = 22  # the header's padding
SORT_ARROW = 12  # and, where a click sorts, its arrow
MIN_WIDTH = 56
STRETCH_FLOOR = 160  # the stretch column shrinks to fit the view, not below this
SAVE_DELAY_MS = 400  # a drag resizes many times: write the settings once it stops


class RecordTable(QTableView):
    """A table of records for the table `name` (the key its layout is saved under)."""

    sort_requested = Signal(int, Qt.SortOrder)  # SERVER sorting: column, order

    def __init__(self, name: str, session: Session, columns: Sequence[Column], *,
                 sorting: str = LOCAL, parent: QWidget | None = None,
                 **model_options: Any) -> None:
        super().__init__(parent)
        house_table(self)
        self.name = name
        self.session = session
        self.records = RecordTableModel(columns, lambda _cursor: [], parent=self,
                                        **model_options)
        self.proxy: SortProxy | None = None
        self.sorting = sorting
        self._server_order = (-1, Qt.SortOrder.AscendingOrder)
        self._natural: dict[int, int] = {}  # width before the leftover room is handed out
        self._sizing = False
        self._fitted = False  # sized to content since the last reload
        self._fit_soon = QTimer(self)  # style and font changes come in bursts: fit once after
        self._fit_soon.setSingleShot(True)
        self._fit_soon.setInterval(0)
        self._fit_soon.timeout.connect(self.fit_columns)
        self._save = QTimer(self)
        self._save.setSingleShot(True)
        self._save.setInterval(SAVE_DELAY_MS)
        self._save.timeout.connect(session.save_settings)
        self._connect_sorting()
        header = self.horizontalHeader()
        header.setStretchLastSection(False)  # `_lay_out` gives the room to a useful column
        header.sectionResized.connect(self._section_resized)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._show_column_menu)
        header.setToolTip("Right-click to choose the columns shown")
        self.records.modelReset.connect(self._rows_reset)
        self.records.page_loaded.connect(lambda _n: self._fit_first_page())
        self._restore_hidden()
        self._fit_soon.start()  # once polished: the stylesheet's font is not known yet

    # --- set-up ---------------------------------------------------------------------

    def _connect_sorting(self) -> None:
        header = self.horizontalHeader()
        if self.sorting == LOCAL:
            self.proxy = SortProxy(self)
            self.proxy.setSourceModel(self.records)
            self.setModel(self.proxy)
            self.setSortingEnabled(True)
            self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
            # Sorting a lazy list needs all of it: load the rest, the proxy re-sorts as rows come.
            header.sortIndicatorChanged.connect(lambda _c, _o: self.records.load_all())
            return
        self.setModel(self.records)
        self.setSortingEnabled(False)
        if self.sorting == SERVER:
            header.setSectionsClickable(True)
            header.setSortIndicatorShown(True)
            header.sortIndicatorChanged.connect(self._server_sort_clicked)

    def _server_sort_clicked(self, column: int, order: Qt.SortOrder) -> None:
        if self.records.columns[column].server_sort is None:
            with _blocked(self.horizontalHeader()):  # this column cannot be sorted by
                self.horizontalHeader().setSortIndicator(*self._server_order)
            return
        self._server_order = (column, order)
        self.sort_requested.emit(column, order)

    def set_server_order(self, column: int, order: Qt.SortOrder) -> None:
        """Show `column` as the one sorted by (SERVER sorting), without asking again."""
        self._server_order = (column, order)
        with _blocked(self.horizontalHeader()):
            self.horizontalHeader().setSortIndicator(column, order)

    # --- records -------------------------------------------------------------------------

    def record_at(self, index: QModelIndex) -> Any:
        return self.model().data(index, RECORD_ROLE)

    def selected_record(self) -> Any | None:
        rows = self.selectionModel().selectedRows()
        return self.record_at(rows[0]) if rows else None

    def column_of(self, title: str) -> int:
        return next(n for n, c in enumerate(self.records.columns) if c.title == title)

    # --- sizing --------------------------------------------------------------------------

    def _saved(self) -> TableLayout:
        """This table's layout as saved (the defaults when the admin has changed nothing)."""
        return self.session.settings.tables.get(self.name) or TableLayout()

    def _changed_layout(self) -> TableLayout:
        """This table's layout, to change (saved shortly after)."""
        self._save.start()
        return self.session.settings.tables.setdefault(self.name, TableLayout())

    def _rows_reset(self) -> None:
        self._fitted = False  # fit again to the next first page (another filter, account)

    def _fit_first_page(self) -> None:
        if not self._fitted and self.records.rowCount():
            self._fitted = True
            self.fit_columns()

    def fit_columns(self) -> None:
        """Size each column to its title and the loaded rows' text, within its limits;
        a width the admin set wins."""
        self._fit_soon.stop()
        self.ensurePolished()
        cells = QFontMetrics(self.font())
        bold = QFont(self.horizontalHeader().font())
        bold.setWeight(QFont.Weight.DemiBold)
        titles = QFontMetrics(bold)
        chosen = self._saved().widths
        header = HEADER_PADDING + (SORT_ARROW if self.sorting != NONE else 0)
        for n, column in enumerate(self.records.columns):
            if column.title in chosen:
                self._natural[n] = chosen[column.title]
                continue
            texts = self.records.texts(n, SAMPLE_ROWS)  # repeated values are measured once
            text = max(map(cells.horizontalAdvance, texts), default=0)
            wanted = max(text + CELL_PADDING, titles.horizontalAdvance(column.title) + header)
            self._natural[n] = max(column.width or MIN_WIDTH, min(column.max_width, wanted))
        self._lay_out()

    def _stretch_column(self) -> int | None:
        shown = [n for n in range(len(self.records.columns)) if not self.isColumnHidden(n)]
        preferred = [n for n in shown if self.records.columns[n].stretch]
        return (preferred or shown or [None])[-1]

    def _lay_out(self) -> None:
        """Every shown column at its width; the room left over goes to the stretch column."""
        widths = {n: self._natural.get(n, MIN_WIDTH) for n in range(len(self.records.columns))
                  if not self.isColumnHidden(n)}
        stretch = self._stretch_column()
        room = self.viewport().width() - sum(widths.values())
        if stretch is not None and room > 0:
            widths[stretch] += room
        elif stretch is not None and room < 0:
            # Too wide for the view: the stretch column gives up room (its long cells tell
            # their full text in the tooltip), not the columns after it going off screen.
            floor = min(widths[stretch], max(self.records.columns[stretch].width or 0,
                                             STRETCH_FLOOR))
            widths[stretch] = max(floor, widths[stretch] + room)
        with self._sizing_now():
            for n, width in widths.items():
                self.horizontalHeader().resizeSection(n, width)

    @contextlib.contextmanager
    def _sizing_now(self) -> Iterator[None]:
        self._sizing = True
        try:
            yield
        finally:
            self._sizing = False

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._fit_soon.start()  # the stylesheet's font arrives when the table is polished

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize and not self._sizing:
            self._lay_out()
        return handled

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if self._sizing or self.isColumnHidden(column) or new <= 0:
            return
        self._natural[column] = new
        self._changed_layout().widths[self.records.columns[column].title] = new
        if column != self._stretch_column():
            self._lay_out()  # the stretch column gives or takes the difference

    def hideEvent(self, event: QEvent) -> None:  # noqa: N802
        super().hideEvent(event)
        if self._save.isActive():  # leaving the panel or closing the window: write it now
            self._save.stop()
            self.session.save_settings()

    # --- the column chooser -----------------------------------------------------------

    def _restore_hidden(self) -> None:
        hidden = self._saved().hidden
        with self._sizing_now():  # showing a column again resizes it: not the admin's doing
            for n, column in enumerate(self.records.columns):
                self.setColumnHidden(n, column.secondary if hidden is None else
                                     column.title in hidden)

    def set_column_shown(self, title: str, shown: bool) -> None:
        """Show or hide a column and remember it for this table."""
        column = self.column_of(title)
        if not shown and self._shown_count() <= 1:
            return  # a table keeps at least one column
        with self._sizing_now():
            self.setColumnHidden(column, not shown)
        self._changed_layout().hidden = [c.title for n, c in enumerate(self.records.columns)
                                         if self.isColumnHidden(n)]
        self._lay_out()

    def _shown_count(self) -> int:
        return sum(not self.isColumnHidden(n) for n in range(len(self.records.columns)))

    def column_menu(self) -> QMenu:
        """The header's context menu: a checkable entry per column."""
        menu = QMenu(self)
        menu.setObjectName("ColumnChooser")
        for n, column in enumerate(self.records.columns):
            action = QAction(column.title, menu)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(n))
            action.setEnabled(self.isColumnHidden(n) or self._shown_count() > 1)
            action.toggled.connect(lambda on, title=column.title: self.set_column_shown(title, on))
            menu.addAction(action)
        return menu

    def _show_column_menu(self, at: QPoint) -> None:
        menu = self.column_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.horizontalHeader().mapToGlobal(at))


@contextlib.contextmanager
def _blocked(widget: QWidget) -> Iterator[None]:
    was = widget.blockSignals(True)
    try:
        yield
    finally:
        widget.blockSignals(was)

