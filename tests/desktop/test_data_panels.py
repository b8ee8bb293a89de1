"""Workers, locations, departments, cost codes, shifts, timesheets and the on-site board,
driven through their real widgets on a real SQLite store."""

from __future__ import annotations

import datetime as dt

from desktop_helpers import (
    click_button,
    column_texts,
    find_dialog,
    gone,
    select_row,
    settle,
    visible_message_box,
)
from PySide6.QtCore import Qt, QTime

from tempclock.api.services import accounts, clocking, timesheets
from tempclock_desktop.dialogs.catalogue import DepartmentDialog
from tempclock_desktop.dialogs.clock import (
    ClockInDialog,
    ClockOutDialog,
    EntryAddDialog,
    EntryEditDialog,
)
from tempclock_desktop.dialogs.location import LocationDialog
from tempclock_desktop.dialogs.shift import ShiftDialog
from tempclock_desktop.dialogs.worker import WorkerDialog


def _cell(table, row: int, column: int) -> str:
    return table.model().index(row, column).data()


def test_first_run_makes_the_data_directory_and_an_account_and_offers_demo_data(
        qtbot, start_desktop, config):
    assert not config.data_dir.exists()
    desktop = start_desktop()
    assert config.data_dir.is_dir()
    assert [a.name for a in accounts.list_accounts()] == ["My agency"]
    assert desktop.window.account_name.text() == "My agency"
    assert not desktop.window.account_switcher.isVisible()  # only one account
    panel = desktop.window.show_panel("workers")
    settle(qtbot)
    assert panel.stack.currentWidget() is panel.empty
    demo_button = next(b for b in panel.empty.findChildren(type(panel.add_button))
                       if b.text() == "Load demo data")
    demo_button.click()
    visible_message_box(qtbot, "Added 7 sites", timeout=60_000)
    settle(qtbot)
    qtbot.waitUntil(lambda: panel.model.rowCount() >= 50, timeout=30_000)
    assert panel.stack.currentWidget() is panel.table


def test_a_worker_is_added_and_a_duplicate_reference_is_refused_in_words(
        qtbot, start_desktop, account, make_location):
    make_location(account.id, "Leeds DC")
    desktop = start_desktop()
    panel = desktop.window.show_panel("workers")
    settle(qtbot)
    panel.add_button.click()
    dialog = find_dialog(qtbot, panel, WorkerDialog)
    dialog.first_name.setText("Zuzanna")
    dialog.last_name.setText("Nowak")
    dialog.employee_ref.setText("EMP-0042")
    dialog.location.setCurrentIndex(dialog.location.findText("Leeds DC"))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Zuzanna Nowak" in column_texts(panel.proxy, 0))
    assert column_texts(panel.proxy, 2) == ["Leeds DC"]

    panel.add_button.click()
    again = find_dialog(qtbot, panel, WorkerDialog)
    again.first_name.setText("Zofia")
    again.last_name.setText("Nowak")
    again.employee_ref.setText("EMP-0042")
    again.email.setText("not-an-email")
    again.save_button.click()
    qtbot.waitUntil(lambda: "not a valid email address" in again.error_text)
    again.email.setText("")
    again.save_button.click()
    qtbot.waitUntil(lambda: "EMP-0042" in again.error_text and "already used" in again.error_text)
    assert again.isVisible()
    again.reject()


def test_workers_are_searched_and_deactivated_not_deleted(
        qtbot, start_desktop, account, make_worker):
    make_worker(account.id, "Ann", "Kowalska")
    make_worker(account.id, "Piotr", "Zieliński")
    desktop = start_desktop()
    panel = desktop.window.show_panel("workers")
    settle(qtbot)
    panel.search.setText("Ziel")
    panel.search.flush()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == ["Piotr Zieliński"])
    select_row(panel.table, "Piotr Zieliński")
    panel.deactivate_button.click()
    click_button(visible_message_box(qtbot, "Deactivate Piotr Zieliński"), "Deactivate")
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 9) == ["Inactive"])
    panel.search.setText("")
    panel.search.flush()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == ["Ann Kowalska"])
    panel.show_inactive.setChecked(True)
    qtbot.waitUntil(lambda: sorted(column_texts(panel.proxy, 0))
                    == ["Ann Kowalska", "Piotr Zieliński"])


def test_a_location_is_added_with_its_geofence_and_refusals_are_explained(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("locations")
    settle(qtbot)
    panel.add_button.click()
    dialog = find_dialog(qtbot, panel, LocationDialog)
    dialog.name.setText("Warsaw Fulfilment Hub")
    dialog.city.setText("Warszawa")
    dialog.country.setText("pl")
    dialog.timezone.setCurrentText("Europe/Warsaw")
    dialog.mode.setCurrentIndex(dialog.mode.findData("block"))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "geofence needs the location's latitude" in dialog.error_text)
    dialog.latitude.setText("52.3007")
    dialog.longitude.setText("21.038")
    dialog.has_capacity.setChecked(True)
    dialog.capacity.setValue(35)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == ["Warsaw Fulfilment Hub"])
    assert column_texts(panel.proxy, 2) == ["Europe/Warsaw"]
    assert column_texts(panel.proxy, 4) == ["Block · 200 m"]
    assert column_texts(panel.proxy, 5) == ["35"]


def test_a_department_is_added_and_found_by_typing(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("departments")
    settle(qtbot)
    for name in ("Warehouse", "Drivers"):
        panel.add_button.click()
        dialog = find_dialog(qtbot, panel, DepartmentDialog)
        dialog.name.setText(name)
        dialog.save_button.click()
        qtbot.waitUntil(lambda name=name: name in column_texts(panel.proxy, 0))
    panel.search.setText("driv")
    panel.search.flush()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == ["Drivers"])


def _next_monday() -> dt.date:
    today = dt.date.today()
    return today + dt.timedelta(days=7 - today.weekday())


def test_a_shift_is_scheduled_in_the_week_grid_and_an_overlap_is_refused(
        qtbot, start_desktop, account, site, worker):
    desktop = start_desktop()
    panel = desktop.window.show_panel("shifts")
    settle(qtbot)
    panel.move(7)  # next week: no shift is in the past
    settle(qtbot)
    monday = _next_monday()
    assert panel.week.location.id == site.id
    row = [name for _ident, name in panel.week.rows()].index(worker.name)

    panel.grid.setCurrentCell(row, 0)
    panel.new_button.click()
    dialog = find_dialog(qtbot, panel, ShiftDialog)
    assert dialog.worker.currentData() == worker.id
    assert dialog.times.day.date().toPython() == monday
    dialog.times.start.setTime(QTime(6, 0))
    dialog.times.end.setTime(QTime(14, 0))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: panel.grid.item(row, 0) is not None
                    and panel.grid.item(row, 0).text().startswith("06:00–14:00"))

    panel.grid.setCurrentCell(row, 1)
    panel.new_button.click()
    clash = find_dialog(qtbot, panel, ShiftDialog)
    clash.times.set_day(monday)
    clash.times.start.setTime(QTime(10, 0))
    clash.times.end.setTime(QTime(18, 0))
    clash.save_button.click()
    qtbot.waitUntil(lambda: "overlapping" in clash.error_text)
    assert f"Worker {worker.id} already has shift" in clash.error_text
    assert clash.isVisible()
    clash.reject()

    # Moved to the evening by double-clicking it, then cancelled: the cell empties.
    panel.grid.cellDoubleClicked.emit(row, 0)
    edit = find_dialog(qtbot, panel, ShiftDialog)
    assert edit.shift is not None
    edit.times.start.setTime(QTime(22, 0))
    edit.times.end.setTime(QTime(6, 0))  # overnight
    edit.save_button.click()
    qtbot.waitUntil(lambda: panel.grid.item(row, 0).text().startswith("22:00–06:00"))
    panel.grid.setCurrentCell(row, 0)
    panel.cancel_button.click()
    click_button(visible_message_box(qtbot, "Cancel the"), "Cancel shift")
    qtbot.waitUntil(lambda: panel.grid.item(row, 0).text() == "")


def test_a_worker_is_clocked_in_and_out_from_the_office_and_the_entry_approved(
        qtbot, start_desktop, account, site, worker):
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    panel.clock_in_button.click()
    dialog = find_dialog(qtbot, panel, ClockInDialog)
    dialog.worker.setCurrentIndex(dialog.worker.findData(worker.id))
    assert dialog.location.currentData() == site.id  # the worker's assigned site
    dialog.save_button.click()
    qtbot.waitUntil(lambda: gone(dialog))
    settle(qtbot)

    panel.show_filter.setCurrentIndex(panel.show_filter.findData("active"))
    panel.reload()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == [worker.name])
    assert column_texts(panel.proxy, 3) == ["on site"]
    assert column_texts(panel.proxy, 7) == ["Office"]  # made in the office, on this PC
    select_row(panel.table, worker.name)
    panel.clock_out_button.click()
    out = find_dialog(qtbot, panel, ClockOutDialog)
    out.save_button.click()
    qtbot.waitUntil(lambda: gone(out))

    panel.show_filter.setCurrentIndex(panel.show_filter.findData("shifts"))
    panel.reload()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 6) == ["Completed"])
    select_row(panel.table, worker.name)
    panel.approve_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 6) == ["Approved"])
    entry = timesheets.list_entries(account.id).data[0]
    assert (entry.status, entry.source) == ("approved", "desktop")
    qtbot.waitUntil(lambda: panel.totals.model().rowCount() == 1)
    assert _cell(panel.totals, 0, 0) == worker.name


def test_a_forgotten_shift_is_added_by_hand_with_its_break(qtbot, start_desktop, account, site,
                                                           worker):
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    panel.add_entry_button.click()
    dialog = find_dialog(qtbot, panel, EntryAddDialog)
    dialog.worker.setCurrentIndex(dialog.worker.findData(worker.id))
    dialog.times.start.setTime(QTime(8, 0))
    dialog.times.end.setTime(QTime(16, 30))
    dialog.break_minutes.setValue(30)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Give a reason" in dialog.error_text)
    dialog.reason.setPlainText("Kiosk was offline; site manager confirmed the hours")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: gone(dialog))
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 5) == ["8.00 h"])
    entry = timesheets.list_entries(account.id).data[0]
    assert (entry.source, entry.break_minutes, entry.total_hours) == ("manual", 30, 8.0)
    (created,) = timesheets.entry_history(account.id, entry.id)
    assert (created.action, created.actor.type, created.reason) == (
        "created", "desktop", "Kiosk was offline; site manager confirmed the hours")


def test_a_correction_needs_a_reason_and_keeps_it(qtbot, start_desktop, account, site, worker):
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    clocking.record_entry(account.id, worker.id, site.id, now - dt.timedelta(hours=9),
                          now - dt.timedelta(hours=1), source="kiosk")
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == [worker.name])
    select_row(panel.table, worker.name)
    panel.edit_button.click()
    dialog = find_dialog(qtbot, panel, EntryEditDialog)
    dialog.clock_in.setDateTime(dialog.clock_in.dateTime().addSecs(15 * 60))
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Give a reason" in dialog.error_text)
    dialog.reason.setPlainText("Badge reader was down; supervisor confirmed start time")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: gone(dialog))
    entry = timesheets.list_entries(account.id).data[0]
    history = timesheets.entry_history(account.id, entry.id)
    assert [h.reason for h in history] == ["Badge reader was down; supervisor confirmed start "
                                           "time"]
    assert list(history[0].after) == ["clock_in"] and history[0].actor.name == "desktop"


def test_a_correction_of_an_approved_entry_is_refused_in_words_an_admin_understands(
        qtbot, start_desktop, account, site, worker):
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    entry = clocking.record_entry(account.id, worker.id, site.id, now - dt.timedelta(hours=9),
                                  now - dt.timedelta(hours=1), source="kiosk")
    timesheets.set_entry_status(account.id, entry.id, "approved")
    desktop = start_desktop()
    panel = desktop.window.show_panel("timesheets")
    settle(qtbot)
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == [worker.name])
    select_row(panel.table, worker.name)
    panel.edit_button.click()
    dialog = find_dialog(qtbot, panel, EntryEditDialog)
    dialog.clock_in.setDateTime(dialog.clock_in.dateTime().addSecs(15 * 60))
    dialog.reason.setPlainText("Started later than recorded")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "approved, so it is locked" in dialog.error_text)
    assert "dispute it first" in dialog.error_text
    assert timesheets.get_entry(account.id, entry.id).clock_in == entry.clock_in


def test_the_on_site_board_shows_who_is_clocked_in_where(qtbot, start_desktop, account, site,
                                                          worker):
    clocking.clock_in(account.id, worker.id, source="kiosk")
    desktop = start_desktop()
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 1)
    card = panel.cards[0]
    texts = [label.text() for label in card.findChildren(type(panel.total))]
    assert site.name in texts
    assert worker.name in texts
    assert panel.total.text() == "1 worker on site at 1 site"


def test_switching_accounts_shows_only_that_accounts_data(qtbot, start_desktop, account,
                                                          other_account, make_worker):
    make_worker(account.id, "Ann", "Acme")
    make_worker(other_account.id, "Rita", "Rival")
    desktop = start_desktop()
    window = desktop.window
    assert window.account_switcher.isVisibleTo(window)
    panel = window.show_panel("workers")
    settle(qtbot)
    first = window.account_switcher.currentData()
    expected = {account.id: "Ann Acme", other_account.id: "Rita Rival"}
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == [expected[first]])
    other = other_account.id if first == account.id else account.id
    index = window.account_switcher.findData(other)
    window.account_switcher.setCurrentIndex(index)
    window.account_switcher.activated.emit(index)
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0) == [expected[other]])
    keys_panel = window.show_panel("api_keys")
    settle(qtbot)
    assert desktop.session.account_id == other
    assert keys_panel.model.rowCount() == 0


def test_keyboard_opens_panels_and_finds_records(qtbot, start_desktop):
    desktop = start_desktop()
    window = desktop.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.panel("workers")
    qtbot.keyClick(window.panel("workers").table, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.panel("workers").search.hasFocus()
