"""Tables an office admin reads at 1440×900: whole words in every content column, the columns
that matter on screen, widths and hidden columns kept across restarts, API logs sorted over
every request (not one page), and hours in the one format chosen in settings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from desktop_helpers import TIMEOUT_MS, column_texts, settle
from migrated_store import copy_store
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from tempclock.api.config import Config
from tempclock.api.services import (
    accounts,
    api_logs,
    clocking,
    deliveries,
    demo,
    keys,
    locations,
    webhooks,
    workers,
)
from tempclock.api.store import close_store, open_store
from tempclock_desktop.panels.webhooks import EVERYTHING
from tempclock_desktop.settings import load_settings

SIZE = (1440, 900)
PADDING = 22  # the stylesheet's item padding (8 px a side) and the style's text margins

# Panel → its tables (by attribute) → their content columns, which must show whole at
# 1440×900 with the demo agency.
CONTENT = {
    "workers": {"table": ("Name", "Assigned site", "Department", "Role", "Phone", "Email")},
    "locations": {"table": ("Name", "Address", "Time zone", "Geofence")},
    "departments": {"table": ("Name", "Active workers")},
    "cost_codes": {"table": ("Code", "Name", "Department")},
    "timesheets": {"table": ("Worker", "Site", "Clock in", "Clock out", "Hours", "Status",
                             "Source", "Cost code"),
                   "totals": ("Worker", "Entries", "Hours")},
    "api_keys": {"table": ("Name", "Key prefix", "Allowed to", "Created")},
    "api_logs": {"table": ("Time", "Key", "Status", "Client", "Path")},
    "webhooks": {"table": ("URL", "Events", "Description", "Created"),
                 "deliveries_table": ("Time", "Event", "To", "State", "Error")},
    "connectors": {"table": ("Connector", "Source", "What it does")},
}
# Columns that must be inside the viewport, not off to the right.
ON_SCREEN = {"timesheets": ("Status", "Source", "Cost code"), "api_logs": ("Client", "Path"),
             "webhooks": ("Error",)}
# What a refused delivery says (as the dispatcher words a closed port).
DELIVERY_ERROR = "ConnectError: [Errno 111] Connection refused"


def _visible_rows(table) -> range:
    last = table.rowAt(table.viewport().height() - 1)
    return range(max(table.rowAt(0), 0), (last if last >= 0 else table.model().rowCount() - 1)
                 + 1)


def _cut_off(table, title: str) -> list[str]:
    """The visible cells of `title` whose text does not fit their column."""
    column = table.column_of(title)
    width = table.columnWidth(column)
    metrics = table.fontMetrics()
    model = table.model()
    texts = [model.data(model.index(row, column)) for row in _visible_rows(table)]
    return [text for text in texts if metrics.horizontalAdvance(text) + PADDING > width]


def _widths(table) -> str:
    shown = [n for n in range(table.model().columnCount()) if not table.isColumnHidden(n)]
    columns = ", ".join(f"{table.records.columns[n].title} {table.columnWidth(n)}" for n in shown)
    return f"view {table.viewport().width()}: {columns}"


def _failed_deliveries(account_id: int) -> None:
    """A clock-in after the demo's webhook was made, sent to it and refused, with a long
    error (as receivers' and the network's errors are)."""
    site = locations.list_locations(account_id).data[0]
    newcomer = workers.create_worker(account_id, workers.WorkerCreate(
        first_name="Delivery", last_name="Tester", location_id=site.id))
    clocking.clock_in(account_id, newcomer.id)
    while deliveries.fan_out():
        pass
    sent = deliveries.claim_due(50)
    assert sent, "no delivery was queued for the demo's webhook"
    deliveries.record_attempts([deliveries.Attempt(s.id, False, None, 3.0, DELIVERY_ERROR)
                                for s in sent])


@pytest.fixture(scope="module")
def demo_agency_file(tmp_path_factory) -> Path:
    """The store of `demo_agency`, made once for this module (loading the demo costs seconds
    of CPU): each test's store is a copy of this file."""
    made = Config(data_dir=tmp_path_factory.mktemp("demo-agency") / "data")
    open_store(made)
    try:
        _load_demo_agency(accounts.create_account("Acme Staffing", api_enabled=True))
    finally:
        close_store()
    return made.sqlite_path


@pytest.fixture
def demo_agency(config, demo_agency_file):
    """The demo agency, with an API key, a webhook to a closed port and 30 refused requests
    logged, in the test's own store (open while the test runs)."""
    copy_store(demo_agency_file, config)
    open_store(config)
    yield accounts.list_accounts()[0]
    close_store()


def _load_demo_agency(account):
    demo.load_demo(account.id)
    keys.issue_key(account.id, "Bullhorn ATS", scopes=["workers:read", "timesheets:read"])
    accounts.allow_internal_targets(account.id, True, by=accounts.local_admin("test"))
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url="http://127.0.0.1:9/events/tempclock", events=["clock_in", "clock_out"],
        description="Old payroll bridge (switched off)"))
    now = dt.datetime.now(dt.UTC)
    api_logs.write_logs([api_logs.ApiLogEntry(
        created_at=now - dt.timedelta(seconds=n), account_id=None, key_id=None, key_name=None,
        key_prefix=None, method="GET", path="/api/v1/workers", query="", status=401,
        duration_ms=1.5, client="192.168.100.200", user_agent="sync/1.0",
        request_id=f"r{n}", error_code="key_checksum_invalid") for n in range(30)])


def _open(qtbot, desktop, key: str, tables=("table",)):
    desktop.window.resize(*SIZE)
    panel = desktop.window.show_panel(key)
    settle(qtbot)
    if key == "webhooks":  # every delivery, not only the selected webhook's
        panel.show_filter.setCurrentIndex(panel.show_filter.findData(EVERYTHING))
        panel.show_deliveries()
        settle(qtbot)
    for name in tables:
        table = getattr(panel, name)
        qtbot.waitUntil(lambda table=table: table.model().rowCount() > 0, timeout=TIMEOUT_MS)
    settle(qtbot)
    QApplication.processEvents()
    return panel


@pytest.mark.parametrize("key", sorted(CONTENT))
def test_at_1440_by_900_no_content_cell_is_cut_off_and_the_key_columns_are_on_screen(
        qtbot, start_desktop, demo_agency, key):
    if key == "webhooks":
        _failed_deliveries(demo_agency.id)
    panel = _open(qtbot, start_desktop(), key, tuple(CONTENT[key]))
    for name, titles in CONTENT[key].items():
        table = getattr(panel, name)
        for title in titles:
            assert not table.isColumnHidden(table.column_of(title)), title
            assert _cut_off(table, title) == [], f"{key}: {title} is cut off ({_widths(table)})"
    for title in ON_SCREEN.get(key, ()):
        table = next(getattr(panel, name) for name, titles in CONTENT[key].items()
                     if title in titles)
        column = table.column_of(title)
        right = table.columnViewportPosition(column) + table.columnWidth(column)
        assert table.columnViewportPosition(column) >= 0, title
        assert right <= table.viewport().width(), f"{key}: {title} is off ({_widths(table)})"


def _cell(table, row: int, column: int) -> str:
    return table.model().index(row, column).data()


def test_every_cell_tells_its_full_text_in_its_tooltip(qtbot, start_desktop, demo_agency):
    panel = _open(qtbot, start_desktop(), "workers")
    model, column = panel.table.model(), panel.table.column_of("Email")
    index = model.index(0, column)
    assert model.data(index, Qt.ItemDataRole.ToolTipRole) == model.data(index)


def test_a_column_width_the_admin_sets_is_kept_after_a_restart(qtbot, start_desktop, config,
                                                               demo_agency):
    desktop = start_desktop()
    panel = _open(qtbot, desktop, "workers")
    phone = panel.table.column_of("Phone")
    panel.table.horizontalHeader().resizeSection(phone, 251)  # as a drag would
    desktop.stop()
    assert load_settings(config).tables["workers"].widths["Phone"] == 251
    again = _open(qtbot, start_desktop(), "workers")
    assert again.table.columnWidth(phone) == 251


def test_a_column_hidden_from_the_header_menu_stays_hidden_after_a_restart(
        qtbot, start_desktop, config, demo_agency):
    desktop = start_desktop()
    panel = _open(qtbot, desktop, "workers")
    menu = panel.table.column_menu()
    titles = {action.text(): action for action in menu.actions()}
    assert not titles["Language"].isChecked()  # a secondary column, offered in the menu
    titles["Phone"].setChecked(False)
    titles["Language"].setChecked(True)
    assert panel.table.isColumnHidden(panel.table.column_of("Phone"))
    desktop.stop()
    saved = load_settings(config).tables["workers"]
    assert "Phone" in saved.hidden
    assert saved.widths == {}  # showing a column again is not a width the admin chose
    again = _open(qtbot, start_desktop(), "workers")
    assert again.table.isColumnHidden(again.table.column_of("Phone"))
    assert not again.table.isColumnHidden(again.table.column_of("Language"))


def _many_logs(count: int) -> None:
    now = dt.datetime.now(dt.UTC)
    api_logs.write_logs([api_logs.ApiLogEntry(
        created_at=now - dt.timedelta(seconds=n), account_id=None, key_id=None, key_name=None,
        key_prefix=None, method="GET", path=f"/api/v1/workers/{n}", query="",
        status=(200, 404, 401, 500, 201)[n % 5], duration_ms=(n * 37) % 1000 + 0.5,
        client="10.0.0.1", user_agent="t", request_id=f"r{n}", error_code=None)
        for n in range(250)])


def _sort(qtbot, panel, title: str, order: Qt.SortOrder) -> list:
    panel.table.horizontalHeader().setSortIndicator(panel.table.column_of(title), order)
    settle(qtbot)
    while not panel.model.exhausted:  # scroll to the end: every page, in the store's order
        panel.model.fetchMore()
        settle(qtbot)
    return panel.model.records


def test_api_logs_sort_by_status_and_duration_across_every_page(qtbot, start_desktop, account):
    _many_logs(250)  # 2½ pages of 100
    desktop = start_desktop()
    panel = _open(qtbot, desktop, "api_logs")
    panel.range_filter.setCurrentIndex(panel.range_filter.findData(None))  # all time
    panel.apply_filters()
    by_status = _sort(qtbot, panel, "Status", Qt.SortOrder.AscendingOrder)
    assert len(by_status) == 250
    assert [r.status for r in by_status] == sorted(r.status for r in by_status)
    assert by_status[0].status == 200 and by_status[-1].status == 500
    slowest = _sort(qtbot, panel, "Duration", Qt.SortOrder.DescendingOrder)
    assert len({r.id for r in slowest}) == 250
    durations = [r.duration_ms for r in slowest]
    assert durations == sorted(durations, reverse=True)
    assert "live updates paused" in panel.count_label.text()


def test_api_logs_cannot_be_sorted_by_a_column_the_store_does_not_sort(qtbot, start_desktop,
                                                                       account):
    _many_logs(250)
    panel = _open(qtbot, start_desktop(), "api_logs")
    before = panel.model.records
    panel.table.horizontalHeader().setSortIndicator(panel.table.column_of("Key"),
                                                    Qt.SortOrder.AscendingOrder)
    settle(qtbot)
    assert panel.model.records == before
    assert panel.table.horizontalHeader().sortIndicatorSection() == 0  # still by time


@pytest.mark.parametrize(("style", "worked"), [("decimal", "8.50 h"),
                                               ("minutes", "8 h 30 min")])
def test_the_hours_format_chosen_in_settings_reads_alike_in_table_totals_and_entry(
        qtbot, start_desktop, account, make_location, make_worker, style, worked):
    from tempclock.api.services import clocking
    site = make_location(account.id, "Leeds DC")
    worker = make_worker(account.id, "Ann", "Kowalska", location_id=site.id)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=10)
    clocking.clock_in(account.id, worker.id, location_id=site.id, timestamp=start)
    clocking.clock_out(account.id, worker.id, timestamp=start + dt.timedelta(hours=8, minutes=30))
    desktop = start_desktop()
    server = desktop.window.show_panel("server")
    server.hours_format.setCurrentIndex(server.hours_format.findData(style))
    server.hours_format.activated.emit(server.hours_format.currentIndex())
    panel = _open(qtbot, desktop, "timesheets")
    hours = panel.table.column_of("Hours")
    qtbot.waitUntil(lambda: column_texts(panel.proxy, hours) == [worked])
    qtbot.waitUntil(lambda: panel.totals.model().rowCount() == 1)
    assert _cell(panel.totals, 0, 2) == worked
    assert f"{worked} worked" in panel.totals_label.text()
    panel.table.selectRow(0)
    qtbot.waitUntil(lambda: f"Worked: {worked}" in panel.detail.toPlainText())


def test_the_empty_entry_pane_says_what_to_do(qtbot, start_desktop, account):
    panel = start_desktop().window.show_panel("timesheets")
    settle(qtbot)
    assert panel.detail.toPlainText() == ""
    assert "Select an entry to see its breaks" in panel.detail.placeholderText()


def test_a_webhook_secret_shows_to_its_last_character(qtbot):
    from tempclock_desktop.app import application
    from tempclock_desktop.dialogs.reveal import SecretRevealDialog
    application()
    secret = "whsec_" + "Z" * 58
    dialog = SecretRevealDialog(None, title="Secret", heading="Secret", intro="",
                                secret=secret, warning="",
                                details="", done_text="Done")
    qtbot.addWidget(dialog)
    field = dialog.secret_text
    assert field.minimumWidth() >= field.fontMetrics().horizontalAdvance(secret) + 16


def test_every_address_line_and_site_rule_is_labelled_and_explained(qtbot):
    from PySide6.QtWidgets import QLabel

    from tempclock_desktop.app import application
    from tempclock_desktop.dialogs.location import LocationDialog
    application()
    dialog = LocationDialog(None, None, lambda payload: payload)
    qtbot.addWidget(dialog)
    label_of = dialog.form.labelForField
    assert label_of(dialog.line2).text() == "Address line 2"
    texts = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "low GPS confidence" in texts and "How far back" in texts


def test_a_long_connector_file_path_shows_its_file_name_and_tells_the_whole_path(qtbot):
    from tempclock.plugins.connectors import Setting
    from tempclock_desktop.app import application
    from tempclock_desktop.connector_form import PathInput
    application()
    field = PathInput(Setting("file", "CSV file", type="path"))
    qtbot.addWidget(field)
    field.resize(300, 40)
    field.show()
    path = "/home/office/Documents/Agency exports/2026/November/week 48/ats-export.csv"
    field.write(path)
    assert field.text.toolTip() == path
    assert field.text.cursorPosition() == len(path)  # the end, the file name, is what shows
    assert field.read() == path
    shown = field.text.shown_text  # cut at a whole character, with an ellipsis: never a glyph
    assert shown.startswith("…") and path.endswith(shown[1:]) and len(shown) < len(path)
    assert shown.endswith("/ats-export.csv")
    assert field.text.fontMetrics().horizontalAdvance(shown) <= field.text.width()
    assert not field.grab().isNull()  # it paints


@pytest.mark.parametrize("key", ["departments", "cost_codes"])
def test_the_name_takes_the_room_left_over_not_the_status(qtbot, start_desktop, demo_agency,
                                                           key):
    table = _open(qtbot, start_desktop(), key).table
    name, status = table.column_of("Name"), table.column_of("Status")
    assert table.columnWidth(status) < table.columnWidth(name)
    assert table.columnWidth(status) <= 120


@pytest.mark.parametrize("key", ["api_logs", "webhooks"])
def test_no_table_needs_scrolling_sideways_at_1440_by_900(qtbot, start_desktop, demo_agency, key):
    if key == "webhooks":
        _failed_deliveries(demo_agency.id)
    panel = _open(qtbot, start_desktop(), key, tuple(CONTENT[key]))
    for name in CONTENT[key]:
        table = getattr(panel, name)
        shown = [n for n in range(table.model().columnCount()) if not table.isColumnHidden(n)]
        assert sum(table.columnWidth(n) for n in shown) <= table.viewport().width(), name


def test_a_connector_run_counts_in_words_not_field_names():
    from tempclock_desktop.panels.connectors import counts_text

    assert counts_text({"open_entries": 2, "created": 5}) == "5 created · 2 open entries"


def test_timesheets_say_how_an_entry_was_made_in_words(qtbot, start_desktop, demo_agency):
    panel = _open(qtbot, start_desktop(), "timesheets")
    sources = set(column_texts(panel.table.model(), panel.table.column_of("Source")))
    assert sources and sources <= {"API", "Office", "Kiosk", "Import", "By hand"}
