"""The Timesheets panel across the clock changes: the hours really worked on each night, the
totals by worker, and each night under the local date it was clocked in."""

from __future__ import annotations

import datetime as dt

import pytest
from clock_changes import NIGHTS, needs_faketime, night_workers
from desktop_helpers import column_texts, find_dialog, gone, settle
from PySide6.QtCore import QDate, QTime

from tempclock.api.services import timesheets
from tempclock.api.services.timesheets import TimeEntryFilter
from tempclock_desktop.dialogs.clock import EntryAddDialog


@pytest.fixture
def nights(config, account, make_location, make_worker):
    return night_workers(config, account, make_location, make_worker)


def _show(qtbot, panel, first: QDate, last: QDate, rows: int) -> None:
    panel.date_from.setDate(first)
    panel.date_to.setDate(last)
    panel.reload()
    qtbot.waitUntil(lambda: panel.proxy.rowCount() == rows)
    settle(qtbot)


@needs_faketime
def test_timesheets_panel_shows_eight_and_ten_hour_nights_and_their_totals(
        qtbot, start_desktop, nights):
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    _show(qtbot, panel, QDate(2027, 1, 1), QDate(2027, 12, 31), rows=4)
    shown = dict(zip(column_texts(panel.proxy, 2), column_texts(panel.proxy, 5), strict=True))
    assert shown == {"Sat 27 Mar 22:00": "8.00 h", "Sat 30 Oct 22:00": "10.00 h",
                     "Sat 13 Mar 22:00": "8.00 h", "Sat 06 Nov 22:00": "10.00 h"}
    assert sorted(column_texts(panel.proxy, 3)) == [
        "Sun 07 Nov 07:00", "Sun 14 Mar 07:00", "Sun 28 Mar 07:00", "Sun 31 Oct 07:00"]
    qtbot.waitUntil(lambda: panel.totals.model().rowCount() == 2)
    by_worker = {_cell(panel.totals, row, 0): (_cell(panel.totals, row, 1),
                                                    _cell(panel.totals, row, 2))
                 for row in range(2)}
    assert by_worker == {"Ann Nowak": ("2", "18.00 h"), "Dana Price": ("2", "18.00 h")}
    assert "36.00 h worked" in panel.totals_label.text()


@needs_faketime
@pytest.mark.parametrize("night", NIGHTS, ids=[f"{n.zone} {n.clocked_in_on}" for n in NIGHTS])
def test_timesheets_panel_files_a_night_under_the_date_it_began(qtbot, start_desktop, nights,
                                                                night):
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    day = QDate(night.clocked_in_on)
    _show(qtbot, panel, day, day, rows=1)
    assert column_texts(panel.proxy, 5) == [f"{night.hours:.2f} h"]
    qtbot.waitUntil(lambda: panel.totals.model().rowCount() == 1)
    assert _cell(panel.totals, 0, 2) == f"{night.hours:.2f} h"
    _show(qtbot, panel, day.addDays(1), day.addDays(1), rows=0)
    qtbot.waitUntil(lambda: panel.totals_label.text().startswith("0 closed entries"))
    assert panel.proxy.rowCount() == 0  # the morning it ended is not its day


def _cell(table, row: int, column: int) -> str:
    return table.model().index(row, column).data()


def test_a_night_added_by_hand_across_the_spring_change_keeps_its_break_inside(
        qtbot, start_desktop, account, make_location, make_worker):
    # Warsaw skips 02:00-03:00 on 29 March 2026: the middle of a 22:00-08:00 night by the
    # wall clock (02:45) lies in that hour; its break must be placed by the hours worked.
    warsaw = make_location(account.id, "Warsaw Hub", timezone="Europe/Warsaw",
                           latitude=52.3007, longitude=21.0380)
    worker = make_worker(account.id, "Piotr", "Zielinski", location_id=warsaw.id)
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    _show(qtbot, panel, QDate(2026, 3, 28), QDate(2026, 3, 28), rows=0)
    panel.add_entry_button.click()
    dialog = find_dialog(qtbot, panel, EntryAddDialog)
    dialog.worker.setCurrentIndex(dialog.worker.findData(worker.id))
    assert dialog.location.currentData() == warsaw.id
    dialog.times.set_day(dt.date(2026, 3, 28))
    dialog.times.start.setTime(QTime(22, 0))
    dialog.times.end.setTime(QTime(8, 0))
    dialog.break_minutes.setValue(30)
    dialog.reason.setPlainText("The kiosk was offline that night")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: gone(dialog))
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 5) == ["8.50 h"])
    (entry,) = timesheets.list_entries(account.id, TimeEntryFilter(worker_id=worker.id)).data
    (pause,) = entry.breaks
    assert entry.clock_in < pause.start < pause.end < entry.clock_out
    assert pause.end - pause.start == dt.timedelta(minutes=30)
    assert pause.start - entry.clock_in == entry.clock_out - pause.end  # mid-shift
