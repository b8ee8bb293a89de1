"""Settings › API keys: issue a key and see it once, copy it, revoke it and watch the running
server refuse it on the next request."""

from __future__ import annotations

from desktop_helpers import (
    click_button,
    column_texts,
    find_dialog,
    select_row,
    settle,
    visible_message_box,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit

from tempclock.api.services import accounts, keys
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRevealDialog


def _issue(qtbot, panel, name: str, scopes=()) -> KeyRevealDialog:
    panel.issue_button.click()
    dialog = find_dialog(qtbot, panel, IssueKeyDialog)
    dialog.name.setText(name)
    for scope in scopes:
        dialog.scope_boxes[scope].setChecked(True)
    dialog.save_button.click()
    return find_dialog(qtbot, panel, KeyRevealDialog)


def test_a_key_is_shown_once_copied_and_refused_by_the_running_server_once_revoked(
        qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    assert desktop.server.running
    panel = desktop.window.show_panel("api_keys")
    settle(qtbot)
    assert not panel.api_enabled.isChecked()  # off until the admin turns it on
    panel.api_enabled.click()
    qtbot.waitUntil(lambda: desktop.session.account.api_enabled)

    reveal = _issue(qtbot, panel, "Bullhorn ATS")
    key = reveal.key_text.text()
    assert key.startswith("tc_live_") and len(key) == 48
    assert any("will not be shown again" in label.text()
               for label in reveal.findChildren(type(panel.hint)))
    reveal.copy_button.click()
    assert QGuiApplication.clipboard().text() == key

    client = api_client(desktop.server.url)
    answer = client.get("/api/v1/workers", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200

    reveal.done_button.click()
    qtbot.waitUntil(lambda: not panel.findChildren(KeyRevealDialog))
    settle(qtbot)
    # Once closed, the key is nowhere on screen: the table shows its prefix only.
    shown = [w.text() for w in QApplication.allWidgets() if isinstance(w, QLineEdit)]
    assert key not in shown
    assert column_texts(panel.proxy, 0) == ["Bullhorn ATS"]
    assert column_texts(panel.proxy, 1) == [key[:16] + "..."]
    assert column_texts(panel.proxy, 3) == ["Active"]

    select_row(panel.table, "Bullhorn ATS")
    panel.revoke_button.click()
    box = visible_message_box(qtbot, "Revoke “Bullhorn ATS”")
    click_button(box, "Revoke key")
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 3) == ["Revoked"])

    refused = client.get("/api/v1/workers", headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "key_revoked"


def test_issuing_needs_a_name_and_says_so(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("api_keys")
    settle(qtbot)
    panel.issue_button.click()
    dialog = find_dialog(qtbot, panel, IssueKeyDialog)
    assert "Full access" in dialog.access.text()
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Missing required field: name" in dialog.error_text)
    assert dialog.isVisible()
    assert not panel.findChildren(KeyRevealDialog)


def test_scopes_ticked_in_the_dialog_limit_the_key(qtbot, start_desktop, api_client):
    desktop = start_desktop(serve=True)
    panel = desktop.window.show_panel("api_keys")
    settle(qtbot)
    panel.api_enabled.click()
    qtbot.waitUntil(lambda: desktop.session.account.api_enabled)
    reveal = _issue(qtbot, panel, "Payroll export", scopes=["timesheets:read"])
    key = reveal.key_text.text()
    reveal.done_button.click()
    settle(qtbot)
    assert column_texts(panel.proxy, 2) == ["Read time entries"]
    client = api_client(desktop.server.url)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.get("/api/v1/timesheets", headers=headers).status_code == 200
    refused = client.get("/api/v1/workers", headers=headers)
    assert refused.status_code == 403
    assert "workers:read" in refused.json()["message"]


def test_a_replacement_key_asked_for_while_access_is_off_starts_from_the_old_key_and_warns(
        qtbot, start_desktop, account):
    old = keys.issue_key(account.id, "Sage Payroll", scopes=["timesheets:read"])
    keys.revoke_key(old.key.id, account.id)
    accounts.set_api_enabled(account.id, False)
    desktop = start_desktop()
    panel = desktop.window.show_panel("api_keys")
    settle(qtbot)
    panel.issue(like=old.key.id)  # what the API-logs alert's "Issue a replacement key…" does
    dialog = find_dialog(qtbot, panel, IssueKeyDialog)
    assert dialog.windowTitle() == "Replace API key"
    assert dialog.name.text() == "Sage Payroll"
    assert dialog.scopes == ["timesheets:read"]
    assert dialog.warning.isVisible()  # access is off: the new key is refused until it is on
    assert "refused" in dialog.warning.text.text()
    dialog.save_button.click()
    find_dialog(qtbot, panel, KeyRevealDialog).done_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.proxy, 0).count("Sage Payroll") == 2)
    assert sorted(column_texts(panel.proxy, 2)) == ["Read time entries", "Read time entries"]
