"""A table of service records that loads one page at a time, off the GUI thread.

Qt's side (`rowCount`, `data`, `canFetchMore`/`fetchMore`) is kept apart from
the domain side (`reload`, `record`, `upsert`, `prepend`). Pages come from a
`fetch_page(cursor)` function that runs on the background pool: `cursor` is
the id of the last record loaded (None for the first page), so paging is keyset
(`after_id`) and a page costs the same at row 100 as at row 1,000,000. A
reload bumps a generation number; pages of an older generation (a previous
filter, another account) are dropped when they arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from tempclock_desktop.messages import describe, plain_tip
from tempclock_desktop.operations import Operation

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2
MUTED = QColor("#94a3b8")


@dataclass(frozen=True)
class Column:
    """One column: its title, the text it shows for a record, and what it sorts by."""

    title: str
    text: Callable[[Any], str]
    sort_key: Callable[[Any], Any] | None = None
    align_right: bool = False
    tooltip: Callable[[Any], str] | None = None  # None: the cell's own text
    width: int | None = None  # the narrowest it is sized to (pixels); None: the title's width
    max_width: int = 480  # the widest size-to-content makes it (the admin may drag wider)
    secondary: bool = False  # hidden until chosen in the column chooser
    stretch: bool = False  # takes the room left over (else the last shown column does)
    server_sort: str | None = None  # the service's name for sorting by it (tables sorted there)


class RecordTableModel(QAbstractTableModel):
    """Rows of records (each with an `id`) that load lazily, a page per request; with
    `page_size=None`, in one request that returns them all (a short list)."""

    page_loaded = Signal(int)  # how many rows the page added
    reloaded = Signal()  # the first page of a reload has arrived
    load_failed = Signal(str)

    def __init__(
        self,
        columns: Sequence[Column],
        fetch_page: Callable[[Any], list[Any]],
        *,
        page_size: int | None = 100,
        cursor_of: Callable[[Any], Any] = lambda record: record.id,
        muted: Callable[[Any], bool] | None = None,
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self._fetch_page = fetch_page
        self._page_size = page_size
        self._cursor_of = cursor_of
        self._muted = muted
        self._rows: list[Any] = []
        self._texts: list[tuple[str, ...]] = []  # each row's cell texts, made off the GUI thread
        self._exhausted = True
        self._loading = False
        self._generation = 0
        self._load_all_then: list[Callable[[], None]] = []
        self._keep_going = False  # a load_all() is under way
        self.ever_loaded = False

    # --- Qt's interface -----------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].title
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self._rows[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[index.row()][index.column()]
        if role == SORT_ROLE:
            key = (column.sort_key(record) if column.sort_key
                   else self._texts[index.row()][index.column()])
            return "" if key is None else key
        if role == RECORD_ROLE:
            return record
        if role == Qt.ItemDataRole.ToolTipRole:  # the full text, even where the cell elides it
            tip = (column.tooltip(record) if column.tooltip is not None
                   else self._texts[index.row()][index.column()])
            return plain_tip(tip) if tip else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column.align_right:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and self._muted and self._muted(record):
            return MUTED
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008, N802
        return not parent.isValid() and not self._exhausted and not self._loading

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008, N802
        if self.canFetchMore(parent):
            self._load_page()

    # --- the domain side ---------------------------------------------------------

    @property
    def records(self) -> list[Any]:
        return list(self._rows)

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def exhausted(self) -> bool:
        return self._exhausted

    def record(self, row: int) -> Any:
        return self._rows[row]

    def texts(self, column: int, rows: int) -> set[str]:
        """The distinct texts of `column` in the first `rows` rows (for sizing it)."""
        return {texts[column] for texts in self._texts[:rows]}

    def refresh_texts(self) -> None:
        """Make the cells' texts again (what they show depends on something that changed)."""
        self._texts = self._texts_of(self._rows)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, len(self.columns) - 1))

    def _texts_of(self, records: Sequence[Any]) -> list[tuple[str, ...]]:
        # Formatting every cell once, where the page is loaded, keeps painting and scrolling
        # (which ask for each cell again and again) cheap on the GUI thread.
        return [tuple(column.text(record) for column in self.columns) for record in records]

    def row_of(self, ident: Any) -> int | None:
        return next((n for n, r in enumerate(self._rows) if r.id == ident), None)

    def set_fetch(self, fetch_page: Callable[[Any], list[Any]]) -> None:
        """Use another page source (new filters) and reload."""
        self._fetch_page = fetch_page
        self.reload()

    def reload(self) -> None:
        """Forget the rows and load the first page again."""
        self._generation += 1
        self.beginResetModel()
        self._rows = []
        self._texts = []
        self._exhausted = False
        self._loading = False
        self.endResetModel()
        self._load_page(first=True)

    def load_all(self, then: Callable[[], None] | None = None) -> None:
        """Load every remaining page (for sorting or filtering what is shown)."""
        if then is not None:
            self._load_all_then.append(then)
        if self._exhausted and not self._loading:
            self._finish_load_all()
        elif not self._loading:
            self._load_page(keep_going=True)
        else:
            self._keep_going = True

    def upsert(self, record: Any) -> None:
        """Show a created or changed record without reloading."""
        row = self.row_of(record.id)
        if row is None:
            if not self._exhausted:
                return  # it will arrive with its page
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows))
            self._rows.append(record)
            self._texts.extend(self._texts_of([record]))
            self.endInsertRows()
        else:
            self._rows[row] = record
            self._texts[row] = self._texts_of([record])[0]
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns) - 1))

    def prepend(self, records: list[Any]) -> None:
        """Put newer records on top (a live view), newest first as given."""
        if records:
            self.beginInsertRows(QModelIndex(), 0, len(records) - 1)
            self._rows[0:0] = records
            self._texts[0:0] = self._texts_of(records)
            self.endInsertRows()

    # --- loading -------------------------------------------------------------

    def _load_page(self, *, first: bool = False, keep_going: bool = False) -> None:
        self._loading = True
        self._keep_going = keep_going or self._keep_going
        generation = self._generation
        cursor = None if first or not self._rows else self._cursor_of(self._rows[-1])
        fetch = self._fetch_page

        def page_with_texts() -> tuple[list[Any], list[tuple[str, ...]]]:
            page = fetch(cursor)
            return page, self._texts_of(page)

        Operation(
            self,
            page_with_texts,
            success=lambda loaded: self._page_arrived(generation, *loaded, first),
            failure=lambda error: self._page_failed(generation, error),
        ).run()

    def _page_arrived(self, generation: int, page: list[Any], texts: list[tuple[str, ...]],
                      first: bool) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self.ever_loaded = True
        self._exhausted = self._page_size is None or len(page) < self._page_size
        if page:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(page) - 1)
            self._rows.extend(page)
            self._texts.extend(texts)
            self.endInsertRows()
        self.page_loaded.emit(len(page))
        if first:
            self.reloaded.emit()
        if self._keep_going:
            if self._exhausted:
                self._finish_load_all()
            else:
                self._load_page(keep_going=True)

    def _finish_load_all(self) -> None:
        self._keep_going = False
        then, self._load_all_then = self._load_all_then, []
        for callback in then:
            callback()

    def _page_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        self._loading = False
        self._exhausted = True
        self._keep_going = False
        self._load_all_then = []
        self.load_failed.emit(describe(error))
