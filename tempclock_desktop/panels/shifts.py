"""Shifts: a week grid per site, workers down the side and days across."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from tempclock.api.services import locations, shifts, workers
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import every, load_choices
from tempclock_desktop.dialogs.shift import ShiftDialog
from tempclock_desktop.messages import confirm, plain_tip
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel, load_demo_data
from tempclock_desktop.widgets import EmptyState, button, combo_pick, fill_combo, label

OPEN_ROW = "Open shifts"
SCHEDULED = QColor("#ccfbf1")
OPEN = QColor("#fef3c7")


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


@dataclass
class Week:
    """What the grid shows: one site's shifts for seven days and who works there."""

    location: locations.Location | None
    sites: list[locations.Location]
    start: dt.date
    shifts: list[shifts.Shift]
    workers: list[workers.Worker]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.location.timezone if self.location else "UTC")

    def rows(self) -> list[tuple[int | None, str]]:
        """(worker id or None for open shifts, label), rota workers first then by name."""
        named = {w.id: w.name for w in self.workers}
        for shift in self.shifts:
            if shift.worker_id is not None:
                named.setdefault(shift.worker_id, shift.worker_name or "")
        ordered = sorted(named.items(), key=lambda item: item[1].split()[-1:] + [item[1]])
        return [(None, OPEN_ROW), *ordered]

    def cell(self, worker_id: int | None, day: dt.date) -> list[shifts.Shift]:
        zone = self.zone
        return [s for s in self.shifts
                if s.worker_id == worker_id and s.start.astimezone(zone).date() == day
                and s.status != "cancelled"]


def load_week(account_id: int, location_id: int | None, start: dt.date) -> Week:
    """Runs on the pool: the active sites, and the chosen (or first) site's week."""
    sites = every(locations.list_locations, account_id, locations.LocationFilter, active=True)
    location = next((s for s in sites if s.id == location_id), sites[0] if sites else None)
    if location is None:
        return Week(None, sites, start, [], [])
    found = every(shifts.list_shifts, account_id, shifts.ShiftFilter, location_id=location.id,
                  date_from=start, date_to=start + dt.timedelta(days=6))
    staff = every(workers.list_workers, account_id, workers.WorkerFilter,
                  location_id=location.id, active=True)
    return Week(location, sites, start, found, staff)


class ShiftsPanel(Panel):
    title = "Shifts"
    subtitle = "The week's rota for one site. Double-click a cell to add or edit a shift."
    icon_name = "shifts"
    depends_on = (kinds.SHIFTS, kinds.WORKERS, kinds.LOCATIONS)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.week_start = monday_of(dt.date.today())
        self.week: Week | None = None
        self.new_button = button("New shift…", "add", role="primary",
                                 on_click=lambda: self.open_editor())
        self.edit_button = button("Edit…", "edit", on_click=self.edit_selected)
        self.cancel_button = button("Cancel shift…", "deactivate", role="danger",
                                    on_click=self.cancel_selected)
        for widget in (self.edit_button, self.cancel_button, self.new_button):
            self.header_actions.addWidget(widget)
        bar = QHBoxLayout()
        self.site = QComboBox()
        self.site.setMinimumWidth(260)
        self.site.activated.connect(lambda _i: self.reload())
        bar.addWidget(label("Site"))
        bar.addWidget(self.site)
        bar.addSpacing(16)
        bar.addWidget(button("", "chevron_left", on_click=lambda: self.move(-7),
                             tip="Previous week"))
        self.week_label = label("", "SectionTitle")
        self.week_label.setMinimumWidth(210)
        self.week_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bar.addWidget(self.week_label)
        bar.addWidget(button("", "chevron_right", on_click=lambda: self.move(7),
                             tip="Next week"))
        bar.addWidget(button("This week", on_click=self.this_week))
        bar.addStretch(1)
        self.summary = label("", "Muted")
        bar.addWidget(self.summary)
        self.content.addLayout(bar)

        self.grid = QTableWidget(0, 7)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.grid.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.grid.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.grid.verticalHeader().setDefaultSectionSize(46)
        self.grid.verticalHeader().setMinimumWidth(190)
        self.grid.setWordWrap(True)
        self.grid.cellDoubleClicked.connect(self._cell_activated)
        self.grid.itemSelectionChanged.connect(self._selection)
        self.content.addWidget(self.grid, 1)
        self.empty = EmptyState("shifts", "Add a site first",
                                "Shifts plan who works at which client site each day. Add the "
                                "site, then its shifts, week by week.")
        self.empty.add_button(button("Add site…", "add", role="primary",
                                     on_click=lambda: self.open_requested.emit("locations/add")))
        self.empty.add_button(button("Load demo data", "demo",
                                     on_click=lambda: load_demo_data(self, self.session)))
        self.empty.hide()
        self.content.addWidget(self.empty, 1)
        self._selection()

    # --- loading ---------------------------------------------------------------------

    def move(self, days: int) -> None:
        self.week_start += dt.timedelta(days=days)
        self.reload()

    def this_week(self) -> None:
        self.week_start = monday_of(dt.date.today())
        self.reload()

    def reload(self) -> None:
        account_id = self.session.account_id
        location_id = self.site.currentData()
        start = self.week_start
        Operation(self, lambda: load_week(account_id, location_id, start),
                  success=self.show_week).run()

    def show_week(self, week: Week) -> None:
        self.week = week
        has_sites = week.location is not None
        self.grid.setVisible(has_sites)
        self.empty.setVisible(not has_sites)
        fill_combo(self.site, [(s.name, s.id) for s in week.sites])
        if week.location is not None:
            combo_pick(self.site, week.location.id)
        end = week.start + dt.timedelta(days=6)
        self.week_label.setText(f"{week.start:%d %b} – {end:%d %b %Y}")
        days = [week.start + dt.timedelta(days=n) for n in range(7)]
        today = dt.date.today()
        self.grid.setHorizontalHeaderLabels(
            [("● " if d == today else "") + f"{d:%a %d %b}" for d in days])
        rows = week.rows()
        self.grid.setRowCount(len(rows))
        self.grid.setVerticalHeaderLabels([name for _ident, name in rows])
        zone = week.zone
        hours = 0.0
        for r, (worker_id, _name) in enumerate(rows):
            for c, day in enumerate(days):
                found = week.cell(worker_id, day)
                lines = [f"{s.start.astimezone(zone):%H:%M}–{s.end.astimezone(zone):%H:%M}"
                         + (f" · {s.role}" if s.role else "") for s in found]
                item = QTableWidgetItem("\n".join(lines))
                item.setData(Qt.ItemDataRole.UserRole, found)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if found:
                    item.setBackground(QBrush(OPEN if worker_id is None else SCHEDULED))
                    item.setToolTip(plain_tip("\n".join(
                        f"{s.start.astimezone(zone):%H:%M}–{s.end.astimezone(zone):%H:%M}, "
                        f"{s.break_minutes} min break" + (f"\n{s.notes}" if s.notes else "")
                        for s in found)))
                    hours += sum((s.end - s.start).total_seconds() / 3600
                                 - s.break_minutes / 60 for s in found)
                self.grid.setItem(r, c, item)
        self.grid.resizeRowsToContents()
        shown = [s for s in week.shifts if s.status != "cancelled"]
        open_count = sum(1 for s in shown if s.worker_id is None)
        self.summary.setText(f"{len(shown)} shifts · {hours:.0f} paid hours · "
                             f"{open_count} open" + (f" · times in {week.location.timezone}"
                                                     if week.location else "")
                             if shown or not has_sites else
                             "No shifts this week yet: double-click a day, or New shift…")
        self._selection()

    # --- selection and editing ---------------------------------------------------------

    def _position(self, row: int, column: int) -> tuple[int | None, dt.date] | None:
        if self.week is None or row < 0:
            return None
        worker_id = self.week.rows()[row][0]
        return worker_id, self.week.start + dt.timedelta(days=column)

    def selected_shifts(self) -> list[shifts.Shift]:
        items = self.grid.selectedItems()
        return list(items[0].data(Qt.ItemDataRole.UserRole) or []) if items else []

    def _selection(self) -> None:
        chosen = self.selected_shifts()
        self.edit_button.setEnabled(bool(chosen))
        self.cancel_button.setEnabled(bool(chosen))
        self.new_button.setEnabled(self.week is not None and self.week.location is not None)

    def _cell_activated(self, row: int, column: int) -> None:
        found = self.grid.item(row, column).data(Qt.ItemDataRole.UserRole) or []
        if found:
            self.open_editor(shift=found[0])
        else:
            position = self._position(row, column)
            if position is not None:
                self.open_editor(worker_id=position[0], day=position[1])

    def edit_selected(self) -> None:
        chosen = self.selected_shifts()
        if chosen:
            self.open_editor(shift=chosen[0])

    def open_editor(self, *, shift: shifts.Shift | None = None, worker_id: int | None = None,
                    day: dt.date | None = None) -> None:
        account_id = self.session.account_id
        location_id = self.week.location.id if self.week and self.week.location else None
        if day is None and shift is None:
            items = self.grid.selectedItems()
            position = self._position(items[0].row(), items[0].column()) if items else None
            worker_id, day = position if position else (None, self.week_start)

        def save(payload: Any) -> shifts.Shift:
            if shift is None:
                return shifts.create_shift(account_id, payload)
            return shifts.update_shift(account_id, shift.id, payload)

        def show(choices) -> None:
            dialog = ShiftDialog(self, choices, save, shift=shift, location_id=location_id,
                                 worker_id=worker_id, day=day)
            dialog.saved.connect(self._saved)
            dialog.open()

        Operation(self, lambda: load_choices(account_id, want_workers=True), success=show).run()

    def _saved(self, _shift: shifts.Shift) -> None:
        self.session.notify(kinds.SHIFTS, self)
        self.reload()

    def cancel_selected(self) -> None:
        chosen = self.selected_shifts()
        if not chosen or self.week is None:
            return
        shift = chosen[0]
        zone = self.week.zone
        account_id = self.session.account_id
        who = shift.worker_name or "open shift"
        confirm(self, "Cancel shift",
                f"Cancel the {shift.start.astimezone(zone):%a %d %b %H:%M}–"
                f"{shift.end.astimezone(zone):%H:%M} shift ({who})?\n\nIt stays listed as "
                "cancelled and frees the worker's time.", "Cancel shift",
                lambda: Operation(self, lambda: shifts.cancel_shift(account_id, shift.id),
                                  success=self._saved).run(), danger=True)
