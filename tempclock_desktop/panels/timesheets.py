"""Timesheets: time entries with filters and per-worker totals; approve or dispute, clock
workers in and out by hand (source `desktop`), and correct entries with a reason."""

from __future__ import annotations

import html
import zoneinfo
from dataclasses import dataclass

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QStackedWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import clocking, locations, timesheets
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import every, load_choices
from tempclock_desktop.dialogs.clock import (
    ClockIn,
    ClockInDialog,
    ClockOut,
    ClockOutDialog,
    EntryAddDialog,
    EntryEdit,
    EntryEditDialog,
    ManualEntry,
)
from tempclock_desktop.formatting import hours, when, when_short
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.tables import RecordTable
from tempclock_desktop.widgets import EmptyState, button, fill_combo, label, panes

SHOW = (("Completed shifts", "shifts"), ("Clocked in now", "active"),
        ("With breaks", "breaks"), ("All entries", "all"))
STATUS = (("Any status", None), ("Completed (to approve)", "completed"),
          ("Approved", "approved"), ("Disputed", "disputed"), ("Open", "open"))
UTC = zoneinfo.ZoneInfo("UTC")
# How an entry was made, in words (`clocking.SOURCES`; "API" as in the sidebar's API keys
# and API logs); the id stays in the entry's details.
SOURCE_TEXT = {"api": "API", "desktop": "Office", "kiosk": "Kiosk",
               "import": "Import", "manual": "By hand"}


def source_text(source: str) -> str:
    return SOURCE_TEXT.get(source, source)


@dataclass(frozen=True)
class EntryView:
    """An entry with its site's zone, so times read as the site's local times."""

    entry: timesheets.TimeEntry
    zone: zoneinfo.ZoneInfo

    @property
    def id(self) -> int:
        return self.entry.id


def anyone_clocked_in(account_id: int) -> bool:
    """Whether the account has any time entry at all (else the panel says how to start)."""
    everything = timesheets.TimeEntryFilter(entry_filter="all", limit=1)
    return bool(timesheets.list_entries(account_id, everything).data)


def _zones(account_id: int) -> dict[int, zoneinfo.ZoneInfo]:
    return {loc.id: zoneinfo.ZoneInfo(loc.timezone)
            for loc in every(locations.list_locations, account_id, locations.LocationFilter)}


class TimesheetsPanel(Panel):
    title = "Timesheets"
    subtitle = "Clock-in to clock-out records. Times are each site's local time."
    icon_name = "timesheets"
    depends_on = (kinds.ENTRIES, kinds.WORKERS, kinds.LOCATIONS, kinds.DISPLAY)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self._header_buttons()
        self.content.addLayout(self._filter_bar())
        # Below the table, not beside it: the table keeps the whole width, so the approval
        # status and every other column show at 1440 px without scrolling sideways.
        splitter = panes(Qt.Orientation.Vertical, self._entries_table(), self._below_table(),
                         stretch=(3, 2), sizes=(420, 280))
        self.stack = QStackedWidget()
        self.stack.addWidget(splitter)
        self.stack.addWidget(self._empty_state())
        self.content.addWidget(self.stack, 1)
        self._sites_loaded_for: int | None = None
        self._selection()

    def _header_buttons(self) -> None:
        self.add_entry_button = button("Add entry…", "add", on_click=self.add_entry,
                                       tip="Record a shift someone forgot to clock")
        self.clock_in_button = button("Clock in…", "clock_in", on_click=self.clock_in)
        self.clock_out_button = button("Clock out…", "clock_out", on_click=self.clock_out)
        self.edit_button = button("Correct…", "edit", on_click=self.edit_selected)
        self.dispute_button = button("Dispute", "dispute", role="danger",
                                     on_click=lambda: self.set_status("disputed"))
        self.approve_button = button("Approve", "check", role="primary",
                                     on_click=lambda: self.set_status("approved"))
        for widget in (self.add_entry_button, self.clock_in_button, self.clock_out_button,
                       self.edit_button,
                       self.dispute_button, self.approve_button):
            self.header_actions.addWidget(widget)

    def _filter_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(1 - today.dayOfWeek()).addDays(-7))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("ddd d MMM yyyy")
            edit.dateChanged.connect(lambda _d: self.reload())
        self.site = QComboBox()
        self.site.setMinimumWidth(200)
        self.status = QComboBox()
        fill_combo(self.status, STATUS)
        self.show_filter = QComboBox()
        fill_combo(self.show_filter, SHOW)
        for combo in (self.site, self.status, self.show_filter):
            combo.activated.connect(lambda _i: self.reload())
        for caption, widget in (("From", self.date_from), ("to", self.date_to),
                                ("Site", self.site), ("", self.status), ("", self.show_filter)):
            if caption:
                bar.addWidget(label(caption))
            bar.addWidget(widget)
        bar.addStretch(1)
        return bar

    def _entries_table(self) -> RecordTable:
        self.table = RecordTable(
            "timesheets", self.session,
            [
                Column("Worker", lambda v: v.entry.worker_name),
                Column("Site", lambda v: v.entry.location_name),
                Column("Clock in", lambda v: when_short(v.entry.clock_in, v.zone),
                       lambda v: v.entry.clock_in),
                Column("Clock out", lambda v: when_short(v.entry.clock_out, v.zone, "on site"),
                       lambda v: v.entry.clock_out.isoformat() if v.entry.clock_out else "~"),
                Column("Break", lambda v: f"{v.entry.break_minutes} min",
                       lambda v: v.entry.break_minutes, align_right=True),
                Column("Hours", lambda v: self.hours(v.entry.total_hours),
                       lambda v: v.entry.total_hours or 0, align_right=True),
                Column("Status", lambda v: v.entry.status.capitalize()),
                Column("Source", lambda v: source_text(v.entry.source)),
                Column("Cost code", lambda v: v.entry.cost_code or "", stretch=True),
            ],
            parent=self,
        )
        self.model, self.proxy = self.table.records, self.table.proxy
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        return self.table

    def _below_table(self) -> QWidget:
        below = QWidget()
        cards = QHBoxLayout(below)
        cards.setContentsMargins(0, 0, 0, 0)
        totals = QVBoxLayout()
        totals.addWidget(label("Totals by worker", "SectionTitle"))
        self.totals_label = label("", "Muted")
        totals.addWidget(self.totals_label)
        self.totals = RecordTable(
            "timesheet_totals", self.session,
            [
                Column("Worker", lambda w: w.worker_name, stretch=True),
                Column("Entries", lambda w: str(w.entries), lambda w: w.entries,
                       align_right=True),
                Column("Hours", lambda w: self.hours(w.total_hours), lambda w: w.total_hours,
                       align_right=True),
            ],
            page_size=None,  # one row per worker of the period: all at once
            parent=self,
        )
        self.totals.records.reloaded.connect(self._show_totals)
        self.totals.records.load_failed.connect(self.totals_label.setText)
        self._totals: dict[str, timesheets.TimesheetTotals] = {}
        totals.addWidget(self.totals, 1)
        cards.addLayout(totals, 1)
        entry = QVBoxLayout()
        entry.addWidget(label("Entry", "SectionTitle"))
        self.detail = QTextBrowser()
        self.detail.setPlaceholderText("Select an entry to see its breaks, location and history.")
        entry.addWidget(self.detail, 1)
        cards.addLayout(entry, 1)
        return below

    def _empty_state(self) -> EmptyState:
        self.empty = EmptyState("timesheets", "Nobody has clocked in yet",
                                "Timesheets fill up as your temps clock in and out at their "
                                "sites. Clock someone in by hand to see how it works.")
        self.empty.add_button(button("Clock someone in…", "clock_in", role="primary",
                                     on_click=self.clock_in))
        return self.empty

    # --- loading ---------------------------------------------------------------------

    @property
    def filters(self) -> timesheets.TimeEntryFilter:
        """The filters as the service takes them (read on the GUI thread)."""
        return timesheets.TimeEntryFilter(
            date_from=self.date_from.date().toPython(),
            date_to=self.date_to.date().toPython(),
            location_id=self.site.currentData(),
            status=self.status.currentData(),
            entry_filter=self.show_filter.currentData(),
            limit=100,
        )

    def reload(self) -> None:
        account_id = self.session.account_id
        if self._sites_loaded_for != account_id:
            self._sites_loaded_for = account_id
            Operation(self, lambda: every(locations.list_locations, account_id,
                                          locations.LocationFilter),
                      success=self._sites_loaded).run()
        base = self.filters
        zones: dict[int, zoneinfo.ZoneInfo] = {}

        def page(after_id: int | None) -> list[EntryView]:
            if after_id is None:
                zones.clear()
                zones.update(_zones(account_id))
            params = timesheets.TimeEntryFilter(**{**_fields(base), "after_id": after_id})
            found = timesheets.list_entries(account_id, params).data
            return [EntryView(e, zones.get(e.location_id, UTC)) for e in found]

        self.model.set_fetch(page)
        self._load_totals(account_id, base)
        Operation(self, lambda: anyone_clocked_in(account_id),
                  success=lambda anyone: self.stack.setCurrentIndex(0 if anyone else 1)).run()
        self.detail.clear()

    def hours(self, value: float | None) -> str:
        """Hours in the format chosen in Server & settings (table, totals and entry alike)."""
        return hours(value, self.session.settings.hours_format)

    def _sites_loaded(self, sites: list[locations.Location]) -> None:
        current = self.site.currentData()
        fill_combo(self.site, [(s.name, s.id) for s in sites], none="All sites")
        index = self.site.findData(current)
        self.site.setCurrentIndex(max(index, 0))

    def _load_totals(self, account_id: int, filters: timesheets.TimeEntryFilter) -> None:
        self._totals = found = {}  # the period's totals, beside the rows per worker

        def per_worker(_cursor: None) -> list[timesheets.WorkerTotal]:
            found["all"] = timesheets.timesheet_totals(account_id, filters)
            return found["all"].workers

        self.totals.records.set_fetch(per_worker)

    def _show_totals(self) -> None:
        totals = self._totals["all"]
        self.totals_label.setText(f"{totals.entries} closed entries · "
                                  f"{self.hours(totals.total_hours)} worked · "
                                  f"{self.hours(totals.break_minutes / 60)} of breaks")

    # --- selection -----------------------------------------------------------------------

    def selected(self) -> EntryView | None:
        return self.table.selected_record()

    def _selection(self) -> None:
        view = self.selected()
        closed = view is not None and view.entry.clock_out is not None
        self.approve_button.setEnabled(closed and view.entry.status != "approved")
        self.dispute_button.setEnabled(closed and view.entry.status != "disputed")
        self.edit_button.setEnabled(view is not None)
        self.clock_out_button.setEnabled(view is not None and view.entry.clock_out is None)
        if view is not None:
            self._show_detail(view)

    def _show_detail(self, view: EntryView) -> None:
        account_id = self.session.account_id
        entry_id = view.entry.id
        Operation(self, lambda: timesheets.entry_history(account_id, entry_id),
                  success=lambda history: self._detail(view, history),
                  failure=lambda _e: self._detail(view, [])).run()

    def _detail(self, view: EntryView, history: list[timesheets.EntryChange]) -> None:
        if self.selected() is None or self.selected().id != view.id:
            return
        e, zone = view.entry, view.zone
        esc = html.escape
        lines = [f"<b>{esc(e.worker_name)}</b> at {esc(e.location_name)}",
                 f"{when(e.clock_in, zone)} → {when(e.clock_out, zone, 'still on site')}"
                 f" ({esc(str(zone))})",
                 f"Worked: {self.hours(e.total_hours) or 'still on site'}"
                 f" · breaks: {e.break_minutes} min",
                 f"Status: {e.status} · made by: {source_text(e.source)} ({e.source})"]
        for b in e.breaks:
            lines.append(f"Break {when(b.start, zone)} – {when(b.end, zone, 'now')}")
        if e.distance_meters is not None:
            fence = {True: "inside", False: "outside", None: "no"}[e.within_geofence]
            lines.append(f"Clocked in {e.distance_meters:.0f} m from the site ({fence} geofence)"
                         + (", low GPS confidence" if e.low_gps_confidence else ""))
        if e.notes:
            lines.append(f"Notes: {esc(e.notes)}")
        if history:
            lines.append("<br><b>History</b>")
            for change in history:
                what = "added" if change.action == "created" else \
                    ", ".join(esc(name) for name in change.after)
                lines.append(f"{when(change.created_at)}: {what} by {esc(change.actor.name)}"
                             f" — “{esc(change.reason)}”")
        self.detail.setHtml("<br>".join(lines))

    # --- actions ---------------------------------------------------------------------------

    def _changed(self, _entry=None) -> None:
        self.session.notify(kinds.ENTRIES, self)
        self.reload()

    def set_status(self, status: str) -> None:
        """Approve or dispute the selected closed entry."""
        view = self.selected()
        if view is None:
            return
        account_id, entry_id, filters = self.session.account_id, view.entry.id, self.filters

        def done(entry: timesheets.TimeEntry) -> None:
            self.model.upsert(EntryView(entry, view.zone))
            self._selection()
            self.session.notify(kinds.ENTRIES, self)
            self._load_totals(account_id, filters)

        Operation(self, lambda: timesheets.set_entry_status(account_id, entry_id, status),
                  success=done).run()

    def clock_in(self) -> None:
        account_id = self.session.account_id

        def save(request: ClockIn) -> timesheets.TimeEntry:
            return clocking.clock_in(account_id, request.worker_id,
                                     location_id=request.location_id,
                                     timestamp=request.timestamp, notes=request.notes,
                                     source="desktop")

        def show(choices) -> None:
            dialog = ClockInDialog(self, choices, save)
            dialog.saved.connect(self._changed)
            dialog.open()

        Operation(self, lambda: load_choices(account_id, want_workers=True), success=show).run()

    def add_entry(self) -> None:
        account_id = self.session.account_id

        def save(entry: ManualEntry) -> timesheets.TimeEntry:
            return clocking.add_entry(account_id, entry.request, actor=timesheets.DESKTOP)

        def show(choices) -> None:
            dialog = EntryAddDialog(self, choices, save)
            dialog.saved.connect(self._changed)
            dialog.open()

        Operation(self, lambda: load_choices(account_id, want_workers=True), success=show).run()

    def clock_out(self) -> None:
        view = self.selected()
        if view is None or view.entry.clock_out is not None:
            return
        account_id = self.session.account_id

        def save(request: ClockOut) -> timesheets.TimeEntry:
            return clocking.clock_out(account_id, request.worker_id,
                                      timestamp=request.timestamp, notes=request.notes)

        dialog = ClockOutDialog(self, view.entry, save)
        dialog.saved.connect(self._changed)
        dialog.open()

    def edit_selected(self) -> None:
        view = self.selected()
        if view is None:
            return
        account_id = self.session.account_id

        def save(edit: EntryEdit) -> timesheets.TimeEntry:
            return clocking.edit_entry(account_id, view.entry.id, edit.changes,
                                       reason=edit.reason, actor=timesheets.DESKTOP)

        def show(choices) -> None:
            dialog = EntryEditDialog(self, view.entry, choices, save)
            dialog.saved.connect(self._changed)
            dialog.open()

        Operation(self, lambda: load_choices(account_id), success=show).run()


def _fields(params: timesheets.TimeEntryFilter) -> dict:
    return {name: getattr(params, name) for name in params.__struct_fields__}
