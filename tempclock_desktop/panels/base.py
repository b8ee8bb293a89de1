"""What panels share: a header, reloading when the account or the data changes, and
`RecordPanel`, a searchable, sortable list with add / edit / deactivate.

A panel reloads lazily: a change while it is hidden only marks it stale, and it
reloads when the admin next opens it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tempclock_desktop import session as kinds
from tempclock_desktop.messages import confirm, show_error, show_notice
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.session import Session
from tempclock_desktop.tables import RecordTable
from tempclock_desktop.widgets import EmptyState, SearchField, button, label


class Panel(QWidget):
    """A page of the main window with a title, reloading for the account shown."""

    title = ""
    subtitle = ""
    icon_name = ""
    depends_on: tuple[str, ...] = ()  # data kinds whose change makes this panel stale
    # Another page should open: "panel" or "panel/action" (the main window routes it).
    open_requested = Signal(str)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.stale = True
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(12)
        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(label(self.title, "PanelTitle"))
        self.subtitle_label = label(self.subtitle, "PanelSubtitle", wrap=True)
        titles.addWidget(self.subtitle_label)
        head.addLayout(titles, 1)
        self.header_actions = QHBoxLayout()
        self.header_actions.setSpacing(8)
        head.addLayout(self.header_actions)
        outer.addLayout(head)
        self.content = outer
        session.account_changed.connect(lambda _account: self.mark_stale())
        session.data_changed.connect(self._data_changed)

    def _data_changed(self, kind: str, source: object) -> None:
        if kind in self.depends_on and source is not self:
            self.mark_stale()

    def mark_stale(self) -> None:
        self.stale = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.stale:
            self.refresh()

    def refresh(self) -> None:
        """Load this panel's data for the current account."""
        self.stale = False
        if self.session.account is not None:
            self.reload()

    def reload(self) -> None:
        """Subclasses load their data here (through `Operation`)."""


def load_demo_data(parent: QWidget, session: Session) -> None:
    """Fill the current (empty) account with the demo agency, showing progress."""
    from tempclock.api.services import demo  # large, and seldom used: not at start-up

    account_id = session.account_id
    dialog = QProgressDialog("Loading demo data…", None, 0, 4, parent)
    dialog.setWindowTitle("Load demo data")
    dialog.setMinimumDuration(0)
    dialog.setAutoClose(False)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setValue(0)
    dialog.show()

    def progress(done: int, total: int, what: str) -> None:
        dialog.setMaximum(total)
        dialog.setValue(done)
        dialog.setLabelText(f"Loading demo data: {what}…")

    def finished(summary: demo.DemoSummary) -> None:
        dialog.close()
        for kind in (kinds.LOCATIONS, kinds.DEPARTMENTS, kinds.COST_CODES, kinds.WORKERS,
                     kinds.SHIFTS, kinds.ENTRIES):
            session.notify(kind)
        box = show_notice(parent, "Demo data loaded",
                          f"Added {summary.locations} sites, {summary.workers} workers, "
                          f"{summary.shifts} shifts and {summary.time_entries} time entries."
                          "\n\nNext: decide whether integrations (your ATS, CRM or payroll "
                          "software) may connect to TempClock.")
        if isinstance(parent, Panel):
            next_step = box.addButton("Next step…", QMessageBox.ButtonRole.ActionRole)
            next_step.setProperty("role", "primary")
            next_step.style().polish(next_step)  # the box is already open
            next_step.clicked.connect(lambda: parent.open_requested.emit("guide/access"))

    def failed(error: BaseException) -> None:
        dialog.close()
        show_error(parent, error, "Demo data was not loaded")

    Operation(parent, lambda report: demo.load_demo(account_id, progress=report),
              success=finished, failure=failed, progress=progress).run()


@dataclass(frozen=True)
class RecordService:
    """The service calls that write one kind of record (each runs on the pool)."""

    create: Callable[[int, Any], Any]  # (account_id, payload) -> record
    update: Callable[[int, int, Any], Any]  # (account_id, record id, payload) -> record
    deactivate: Callable[[int, int], Any]  # (account_id, record id) -> record


class RecordPanel(Panel):
    """A list of one kind of record: search, sort, add, edit, deactivate.

    A subclass names its `service`, its `columns`, how to `fetch` a page and which
    `editor` dialog edits a record; the dialog gets what `editor_context` loads first
    (choices for its combo boxes), when the panel has one.
    """

    noun = "record"  # "worker": used in buttons and messages
    kind = ""  # the session data kind it edits
    server_search = True  # search through the service (else filter the loaded rows)
    empty_title = "Nothing here yet"
    empty_text = ""
    service: RecordService
    # (account_id) -> what the editor needs, loaded on the pool; None: it needs nothing.
    editor_context: Callable[[int], Any] | None = None

    def columns(self) -> Sequence[Column]:
        raise NotImplementedError

    def fetch(self, account_id: int, after_id: int | None, search: str,
              include_inactive: bool) -> list[Any]:
        """One page of records after `after_id` (runs on the pool)."""
        raise NotImplementedError

    def editor(self, record: Any | None, save: Callable[[Any], Any], context: Any) -> QDialog:
        """The add (record None) or edit dialog, saving through `save`."""
        raise NotImplementedError

    def open_editor(self, record: Any | None) -> None:
        """Open the add (record None) or edit dialog; it saves through the service."""
        account_id, service = self.session.account_id, self.service

        def save(payload: Any) -> Any:
            if record is None:
                return service.create(account_id, payload)
            return service.update(account_id, record.id, payload)

        def show(context: Any) -> None:
            dialog = self.editor(record, save, context)
            dialog.saved.connect(self.record_saved)
            dialog.open()

        load = type(self).editor_context
        if load is None:
            show(None)
        else:
            Operation(self, lambda: load(account_id), success=show).run()

    def deactivate(self, account_id: int, record: Any) -> Any:
        """Deactivate `record` (runs on the pool); returns the changed record."""
        return self.service.deactivate(account_id, record.id)

    def describe(self, record: Any) -> str:
        return getattr(record, "name", str(record.id))

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(session, parent)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.search = SearchField(f"Search {self.noun}s")
        self.search.search_changed.connect(lambda _text: self._search_changed())
        self.search.returnPressed.connect(self.search.flush)
        bar.addWidget(self.search)
        self.show_inactive = QCheckBox("Show inactive")
        self.show_inactive.toggled.connect(lambda _on: self.reload())
        bar.addWidget(self.show_inactive)
        bar.addStretch(1)
        self.count_label = label("", "Muted")
        bar.addWidget(self.count_label)
        self.add_button = button(f"Add {self.noun}…", "add", role="primary",
                                 on_click=lambda: self.open_editor(None))
        self.edit_button = button("Edit…", "edit", on_click=self._edit_selected)
        self.deactivate_button = button("Deactivate…", "deactivate", role="danger",
                                        on_click=self._deactivate_selected)
        for widget in (self.edit_button, self.deactivate_button, self.add_button):
            self.header_actions.addWidget(widget)
        self.content.addLayout(bar)
        for keys, slot in ((QKeySequence.StandardKey.Find, self.search.setFocus),
                           (QKeySequence.StandardKey.New, lambda: self.open_editor(None))):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
        self.add_button.setToolTip(f"Add a {self.noun} (Ctrl+N)")
        self.search.setToolTip("Ctrl+F")

        self.table = RecordTable(self.kind, session, self.columns(), muted=self._is_inactive)
        self.model, self.proxy = self.table.records, self.table.proxy
        self.table.doubleClicked.connect(lambda _index: self._edit_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection_changed())
        self.model.reloaded.connect(self._loaded)
        self.model.page_loaded.connect(lambda _n: self._update_count())
        self.model.load_failed.connect(self._load_failed)

        self.empty = EmptyState(self.icon_name, self.empty_title, self.empty_text)
        for action in self.empty_actions():
            self.empty.add_button(action)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.content.addWidget(self.stack, 1)
        self._selection_changed()

    def empty_actions(self) -> list[QPushButton]:
        """The ways forward an empty list offers: add the first one (or try the demo)."""
        return [button(f"Add {self.noun}…", "add", role="primary",
                       on_click=lambda: self.open_editor(None)),
                button("Load demo data", "demo",
                       on_click=lambda: load_demo_data(self, self.session))]

    # --- loading ------------------------------------------------------------

    def reload(self) -> None:
        account_id = self.session.account_id
        search = self.search.text().strip() if self.server_search else ""
        include_inactive = self.show_inactive.isChecked()
        fetch = self.fetch
        self.model.set_fetch(lambda after: fetch(account_id, after, search, include_inactive))
        if not self.server_search:
            self.proxy.setFilterFixedString(self.search.text().strip())

    def _search_changed(self) -> None:
        if self.server_search:
            self.reload()
        else:
            self.model.load_all()
            self.proxy.setFilterFixedString(self.search.text().strip())
            self._update_count()

    def _loaded(self) -> None:
        nothing = (self.model.rowCount() == 0 and not self.search.text().strip()
                   and not self.show_inactive.isChecked())
        self.stack.setCurrentWidget(self.empty if nothing else self.table)
        self._update_count()

    def _update_count(self) -> None:
        shown = self.proxy.rowCount()
        more = "+" if not self.model.exhausted else ""
        self.count_label.setText(f"{shown}{more} {self.noun}{'s' if shown != 1 else ''}")

    def _load_failed(self, message: str) -> None:
        self.count_label.setText(message)

    @staticmethod
    def _is_inactive(record: Any) -> bool:
        return getattr(record, "active", True) is False

    # --- selection and actions ------------------------------------------------

    def selected(self) -> Any | None:
        return self.table.selected_record()

    def select_id(self, ident: int) -> None:
        row = self.model.row_of(ident)
        if row is not None:
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def _selection_changed(self) -> None:
        record = self.selected()
        self.edit_button.setEnabled(record is not None)
        self.deactivate_button.setEnabled(record is not None and not self._is_inactive(record))

    def _edit_selected(self) -> None:
        record = self.selected()
        if record is not None:
            self.open_editor(record)

    def record_saved(self, record: Any) -> None:
        """After a dialog saved: show the record and tell other panels."""
        if self.stack.currentWidget() is self.empty:
            self.stack.setCurrentWidget(self.table)
        self.model.upsert(record)
        self.select_id(record.id)
        self._update_count()
        self.session.notify(self.kind, self)

    def _deactivate_selected(self) -> None:
        record = self.selected()
        if record is None:
            return
        account_id = self.session.account_id
        confirm(
            self, f"Deactivate {self.noun}",
            f"Deactivate {self.describe(record)}?\n\nIt stays in the history and in reports, "
            f"but can no longer be used for new work. You can reactivate it by editing it.",
            "Deactivate",
            lambda: Operation(self, lambda: self.deactivate(account_id, record),
                              success=self.record_saved).run(),
            danger=True,
        )

    def index_of_text(self, text: str) -> QModelIndex:
        """The first shown cell whose text is `text` (tests and keyboard search)."""
        for row in range(self.proxy.rowCount()):
            for column in range(self.proxy.columnCount()):
                index = self.proxy.index(row, column)
                if self.proxy.data(index) == text:
                    return index
        return QModelIndex()

