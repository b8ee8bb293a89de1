"""The getting-started guide (from an empty data directory to an integration's first answered
request, against the real embedded API), the truthful API status while the account's access
is off, and the one next action every empty panel offers."""

from __future__ import annotations

import json

import pytest
from desktop_helpers import (
    STARTS_WITHIN_MS,
    TIMEOUT_MS,
    click_button,
    find_dialog,
    settle,
    visible_message_box,
)
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from tempclock.api.services import accounts, keys
from tempclock_desktop.dialogs.clock import ClockInDialog
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRevealDialog
from tempclock_desktop.dialogs.location import LocationDialog
from tempclock_desktop.dialogs.webhooks import WebhookDialog
from tempclock_desktop.dialogs.worker import WorkerDialog
from tempclock_desktop.guide import GuidePage
from tempclock_desktop.panels.connectors import NO_RUNS

GREEN = "#16a34a"


def _open_window(qtbot, kind: type) -> QWidget:
    """The visible top-level window (dialog) of `kind`, wherever it was opened from."""
    found: list[QWidget] = []

    def look() -> bool:
        found[:] = [w for w in QApplication.topLevelWidgets()
                    if isinstance(w, kind) and w.isVisible()]
        return bool(found)

    qtbot.waitUntil(look, timeout=TIMEOUT_MS)
    return found[0]


def _empty_button(panel, text: str) -> QPushButton:
    return next(b for b in panel.empty.findChildren(QPushButton) if b.text() == text)


def _issue_key(qtbot, parent, name: str) -> str:
    dialog = find_dialog(qtbot, parent, IssueKeyDialog)
    dialog.name.setText(name)
    dialog.save_button.click()
    reveal = find_dialog(qtbot, parent, KeyRevealDialog)
    key = reveal.key_text.text()
    reveal.done_button.click()
    return key


def test_the_guide_walks_an_empty_data_directory_to_an_answered_test_request(
        qtbot, start_desktop):
    desktop = start_desktop(serve=True)
    window, server = desktop.window, desktop.server
    guide = window.guide
    assert isinstance(guide, GuidePage)
    assert window.stack.currentWidget() is guide  # shown on the first start
    settle(qtbot)

    # 1. Name the agency: the account is renamed, and the sidebar says so.
    guide.agency_name.setText("Northern Temps Ltd")
    guide.save_name_button.click()
    qtbot.waitUntil(lambda: desktop.session.account.name == "Northern Temps Ltd")
    qtbot.waitUntil(lambda: window.account_name.text() == "Northern Temps Ltd")
    qtbot.waitUntil(lambda: guide.name_state.text().startswith("Done"))
    assert [a.name for a in accounts.list_accounts()] == ["Northern Temps Ltd"]

    # 2. Sites and workers from the demo; its notice leads to the next step.
    guide.next_button.click()
    next(b for b in guide.findChildren(QPushButton) if b.text() == "Load demo data").click()
    notice = visible_message_box(qtbot, "Added 7 sites", timeout=60_000)
    assert "Next: decide whether integrations" in notice.text()
    click_button(notice, "Next step…")
    assert guide.pages.currentIndex() == 2
    qtbot.waitUntil(lambda: guide.people_state.text().startswith("Done"), timeout=30_000)

    # 3. API access: the status was amber "access off", it turns green once on.
    assert "access off for Northern Temps Ltd" in window.server_status.text()
    assert GREEN not in window.server_status.text()
    guide.access_button.click()
    qtbot.waitUntil(lambda: desktop.session.account.api_enabled)
    qtbot.waitUntil(lambda: f"API running at <b>{server.api_url}" in window.server_status.text(),
                    timeout=STARTS_WITHIN_MS)
    assert "access off" not in window.server_pill.text()
    qtbot.waitUntil(lambda: guide.access_state.text().startswith("Done"))

    # 4. The first key, through the usual issue dialog and one-time reveal.
    guide.next_button.click()
    guide.issue_button.click()
    key = _issue_key(qtbot, guide, "Bullhorn ATS")
    qtbot.waitUntil(lambda: guide.key_state.text().startswith("Done"))

    # 5. The first request, filled in with this computer's address and the new key.
    guide.next_button.click()
    assert guide.curl.toPlainText() == (
        f'curl -H "Authorization: Bearer {key}" {server.url}/api/v1/workers')
    assert guide.test_button.isEnabled()
    guide.test_button.click()
    qtbot.waitUntil(lambda: guide.answer_box.isVisible(), timeout=TIMEOUT_MS)
    assert guide.answer_headline.text().startswith("It works")
    assert guide.answer_status.text() == "Status: 200 OK"
    answer = json.loads(guide.answer_body.toPlainText())
    assert answer["pagination"]["total"] >= 50
    assert guide.answer_body.toPlainText().startswith("{\n  ")  # pretty, not one long line
    assert keys.list_keys(desktop.session.account_id)[0].last_used_at is not None

    guide.next_button.click()  # Finish
    assert window.stack.currentWidget() is window.panel("on_site")
    assert desktop.session.settings.guide_pending is False
    assert window.guide_item.isHidden()


def test_a_refused_test_request_is_explained_in_words_with_the_details_one_click_away(
        qtbot, start_desktop):
    desktop = start_desktop(serve=True)
    guide = desktop.window.guide
    guide.go_to_step("key")
    guide.issue_button.click()
    dialog = find_dialog(qtbot, guide, IssueKeyDialog)
    assert dialog.warning.isVisible()  # access is off: the key will be refused until it is on
    assert "refused" in dialog.warning.text.text()
    dialog.reject()
    guide.go_to_step("request")
    guide.key_field.setText("tc_live_" + "0" * 40)  # not a key anyone issued
    guide.test_button.click()
    qtbot.waitUntil(lambda: guide.answer_box.isVisible(), timeout=TIMEOUT_MS)
    assert guide.answer_headline.text().startswith("The key was not recognised")
    assert "401" not in guide.answer_headline.text()
    assert not guide.answer_body.isVisible()  # the technical answer is one click away
    guide.details_button.click()
    assert guide.answer_body.isVisible()
    assert guide.answer_status.text().startswith("Status: 401")


def test_the_guide_can_be_skipped_and_opened_again_from_server_settings(qtbot, start_desktop):
    desktop = start_desktop()
    window = desktop.window
    assert window.stack.currentWidget() is window.guide
    window.guide.skip_button.click()
    assert window.stack.currentWidget() is window.panel("on_site")
    assert window.guide_item.isHidden()
    desktop.stop()

    again = start_desktop()  # the same data directory: skipped stays skipped
    assert again.window.guide is None
    assert again.window.stack.currentWidget() is again.window.panel("on_site")
    server_panel = again.window.show_panel("server")
    server_panel.guide_button.click()
    assert again.window.stack.currentWidget() is again.window.guide
    assert not again.window.guide_item.isHidden()


def test_what_the_admin_already_did_shows_as_done_in_the_guide(
        qtbot, start_desktop, account, make_location, make_worker):
    site = make_location(account.id, "Leeds DC")
    make_worker(account.id, location_id=site.id)
    keys.issue_key(account.id, "Bullhorn ATS")
    desktop = start_desktop()
    window = desktop.window
    assert window.guide is None  # not a first run: the guide waits to be asked for
    window.open_target("guide")
    guide = window.guide
    qtbot.waitUntil(lambda: guide.progress is not None)
    assert guide.name_state.text() == "Done: your agency is called “Acme Staffing”."
    assert guide.agency_name.text() == "Acme Staffing"
    assert guide.people_state.text() == "Done: 1 site and 1 worker."
    assert guide.access_state.text().startswith("Done")
    assert guide.key_state.text().startswith("Done: 1 active key")


def test_the_api_keys_panel_says_when_access_is_off_and_turns_it_on(
        qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    window = desktop.window
    pill = window.server_pill.text()
    assert "access off" in pill and GREEN not in pill.split("<br>")[0]
    window.server_status.linkActivated.emit("api_keys")  # the status bar's "Turn it on…"
    panel = window.panel("api_keys")
    assert window.stack.currentWidget() is panel
    settle(qtbot)
    assert panel.turn_on_button.isVisible()
    assert panel.access_title.text() == "API access is off for My agency"
    assert "refused" in panel.issue_button.toolTip()
    assert panel.stack.currentWidget() is panel.empty  # no keys yet: what a key is for
    _empty_button(panel, "Issue key…").click()
    key = _issue_key(qtbot, panel, "Payroll")
    client = api_client(desktop.server.url)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/workers", headers=headers).status_code == 403

    panel.turn_on_button.click()
    qtbot.waitUntil(lambda: desktop.session.account.api_enabled)
    assert not panel.turn_on_button.isVisible()
    assert panel.access_title.text() == "API access is on"
    assert GREEN in window.server_status.text()
    assert client.get("/api/v1/workers", headers=headers).status_code == 200


@pytest.mark.parametrize(("key", "text", "opens"), [
    ("workers", "Add worker…", WorkerDialog),
    ("locations", "Add site…", LocationDialog),
    ("shifts", "Add site…", LocationDialog),
    ("on_site", "Add site…", LocationDialog),
    ("timesheets", "Clock someone in…", ClockInDialog),
    ("api_keys", "Issue key…", IssueKeyDialog),
    ("webhooks", "Add webhook…", WebhookDialog),
])
def test_an_empty_panel_offers_the_action_that_fills_it(qtbot, start_desktop, key, text, opens):
    desktop = start_desktop()
    window = desktop.window
    panel = window.show_panel(key)
    settle(qtbot)
    assert panel.empty.isVisible(), key
    assert panel.empty.text.text(), key  # it says what the panel is for
    _empty_button(panel, text).click()
    dialog = _open_window(qtbot, opens)
    assert window.stack.currentWidget() is panel  # the dialog opens over the page shown
    dialog.reject()


def test_empty_workers_offer_the_ats_import_and_empty_logs_show_the_first_request(
        qtbot, start_desktop):
    desktop = start_desktop()
    window = desktop.window
    workers_panel = window.show_panel("workers")
    settle(qtbot)
    _empty_button(workers_panel, "Import from ATS…").click()
    connectors_panel = window.panel("connectors")
    assert window.stack.currentWidget() is connectors_panel
    qtbot.waitUntil(lambda: connectors_panel.current is not None
                    and connectors_panel.current.id == "ats-csv", timeout=TIMEOUT_MS)
    settle(qtbot)
    assert connectors_panel.run_detail.placeholderText() == NO_RUNS  # what to do first

    logs = window.show_panel("api_logs")
    settle(qtbot)
    qtbot.waitUntil(lambda: logs.stack.currentWidget() is logs.empty)
    port = desktop.session.settings.port
    assert not logs.first_curl.isVisible()  # the command is one click away
    _empty_button(logs, "Show an example request").click()
    assert logs.first_curl.isVisible()
    assert logs.first_curl.text() == (
        f'curl -H "Authorization: Bearer tc_live_…" http://127.0.0.1:{port}/api/v1/workers')
    _empty_button(logs, "Try it in the getting-started guide").click()
    assert window.stack.currentWidget() is window.guide
    assert window.guide.pages.currentIndex() == 4


def test_sites_and_workers_added_by_hand_from_the_guide_count_towards_its_step(
        qtbot, start_desktop):
    desktop = start_desktop()
    window = desktop.window
    guide = window.guide
    guide.go_to_step("people")
    next(b for b in guide.findChildren(QPushButton) if b.text() == "Add site…").click()
    dialog = _open_window(qtbot, LocationDialog)
    assert window.stack.currentWidget() is guide  # the dialog opens over the guide
    dialog.name.setText("Leeds DC")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: guide.people_state.text() == "So far: 1 site and 0 workers.",
                    timeout=TIMEOUT_MS)
    next(b for b in guide.findChildren(QPushButton) if b.text() == "Add worker…").click()
    worker_dialog = _open_window(qtbot, WorkerDialog)
    worker_dialog.first_name.setText("Zuzanna")
    worker_dialog.last_name.setText("Nowak")
    worker_dialog.save_button.click()
    qtbot.waitUntil(lambda: guide.people_state.text() == "Done: 1 site and 1 worker.",
                    timeout=TIMEOUT_MS)


def test_a_site_without_shifts_says_how_to_add_the_first(qtbot, start_desktop, account,
                                                           make_location):
    make_location(account.id, "Leeds DC")
    desktop = start_desktop()
    panel = desktop.window.show_panel("shifts")
    settle(qtbot)
    assert not panel.empty.isVisible()
    assert panel.summary.text() == "No shifts this week yet: double-click a day, or New shift…"
