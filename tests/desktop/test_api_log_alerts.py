"""The API-logs banner, through real requests to the real server: a revoked key still in
use asks for a replacement (the issue dialog opens filled in), wrong keys starting like a
real one are a compromise to revoke, and the admin steps through several alerts."""

from __future__ import annotations

from desktop_helpers import click_button, find_dialog, visible_message_box

from tempclock.api.services import keys
from tempclock_desktop.dialogs.keys import IssueKeyDialog


def wait_for_alerts(qtbot, panel, count: int) -> None:
    def shown() -> bool:
        panel.refresh_stats()  # does nothing while one is under way
        return len(panel.alerts) == count and panel.banner.isVisible()

    qtbot.waitUntil(shown, timeout=15_000)


def test_a_revoked_key_still_in_use_and_guessing_at_a_key_each_get_their_one_action(
        qtbot, start_desktop, api_client, account):
    old = keys.issue_key(account.id, "Sage Payroll", scopes=["timesheets:read"])
    keys.revoke_key(old.key.id, account.id)
    ats = keys.issue_key(account.id, "Bullhorn ATS")
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    refused = client.get("/api/v1/timesheets", headers={
        "Authorization": f"Bearer {old.plaintext}", "User-Agent": "SageBridge/3.2"})
    assert refused.status_code == 401
    for n in range(11):  # someone knows how the ATS key starts
        guess = ats.key.prefix + f"{n:032x}"
        client.get("/api/v1/workers", headers={"Authorization": f"Bearer {guess}"})
    panel = desktop.window.show_panel("api_logs")
    wait_for_alerts(qtbot, panel, 2)

    # The compromise comes first, in red, and its one action is to revoke the key.
    text = panel.banner.text.text()
    assert "Someone is trying keys that start like “Bullhorn ATS”" in text
    assert "alert 1 of 2" in text
    assert panel.banner.property("kind") == "danger"
    assert panel.banner_action.text() == "Revoke key…"
    panel.banner_action.click()
    click_button(visible_message_box(qtbot, "Revoke “Bullhorn ATS”"), "Cancel")

    panel.banner_next.click()
    text = panel.banner.text.text()
    assert "still uses the revoked key “Sage Payroll”" in text
    assert "127.0.0.1" in text and "SageBridge/3.2" in text
    assert panel.banner.property("kind") == "warning"
    assert panel.banner_action.text() == "Issue a replacement key…"
    panel.banner_action.click()
    dialog = find_dialog(qtbot, desktop.window, IssueKeyDialog)
    assert dialog.name.text() == "Sage Payroll"
    assert dialog.scopes == ["timesheets:read"]  # the replacement may do what the old one did
    assert desktop.window.stack.currentWidget() is desktop.window.panel("api_keys")
