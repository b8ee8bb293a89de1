"""Webhooks panel: a subscription is added with its secret shown once, pinged and
redelivered to a real receiver on loopback through the app's dispatcher process, switched
off and on, edited and deleted; what connectors send is listed too; the panel says when
delivery is not running."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal

from desktop_helpers import (
    click_button,
    column_texts,
    find_dialog,
    settle,
    visible_message_box,
)
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLineEdit

from tempclock.api.services import accounts, connectors, deliveries, webhooks, workers
from tempclock_desktop import dispatcher as delivery
from tempclock_desktop.dialogs.webhooks import WebhookDialog, WebhookSecretDialog
from tempclock_desktop.panels.webhooks import CONNECTOR, EVERYTHING

DELIVERY_MS = 20_000  # the dispatcher process has to start first


def allow_internal_targets(qtbot, desktop, panel) -> None:
    """Switch on sending to this PC and the office network, as the admin does, confirming."""
    panel.internal_targets.click()
    click_button(visible_message_box(qtbot, "Let this account's webhooks"), "Allow")
    qtbot.waitUntil(lambda: desktop.session.account.internal_targets_allowed)
    settle(qtbot)


def add_webhook(qtbot, panel, url: str, description: str = "") -> WebhookSecretDialog:
    panel.add_button.click()
    dialog = find_dialog(qtbot, panel, WebhookDialog)
    dialog.url.setText(url)
    dialog.description.setText(description)
    dialog.save_button.click()
    return find_dialog(qtbot, panel, WebhookSecretDialog)


def test_a_webhook_is_added_with_its_secret_shown_once_pinged_and_redelivered(
        qtbot, start_desktop, receiver):
    desktop = start_desktop(serve=True)
    assert desktop.dispatcher.running
    panel = desktop.window.show_panel("webhooks")
    settle(qtbot)
    assert panel.stack.currentWidget() is panel.empty
    assert not panel.delivery_banner.isVisible()
    allow_internal_targets(qtbot, desktop, panel)  # the receiver is on this PC

    reveal = add_webhook(qtbot, panel, f"{receiver.url}/hook", "Bullhorn sync")
    secret = reveal.secret_text.text()
    assert secret.startswith("whsec_")
    reveal.copy_button.click()
    assert QGuiApplication.clipboard().text() == secret
    reveal.done_button.click()
    qtbot.waitUntil(lambda: not panel.findChildren(WebhookSecretDialog))
    settle(qtbot)
    assert secret not in [w.text() for w in QApplication.allWidgets() if isinstance(w, QLineEdit)]
    assert column_texts(panel.model, 0) == [f"{receiver.url}/hook"]
    assert column_texts(panel.model, 1) == ["All standard events"]
    assert column_texts(panel.model, 2) == ["Active"]

    panel.ping_button.click()
    qtbot.waitUntil(lambda: len(receiver.requests) == 1, timeout=DELIVERY_MS)
    ping = receiver.requests[0]
    assert ping["path"] == "/hook" and ping["headers"]["X-TempClock-Event"] == "ping"
    expected = hmac.new(secret.encode(), ping["body"], hashlib.sha256).hexdigest()
    assert ping["headers"]["X-TempClock-Signature"] == f"sha256={expected}"
    # The list follows the delivery live: pending, then delivered with its status.
    qtbot.waitUntil(lambda: column_texts(panel.deliveries, 4) == ["Delivered"])
    assert column_texts(panel.deliveries, 1) == ["Test delivery"]
    assert column_texts(panel.deliveries, 5) == ["200"]
    assert column_texts(panel.deliveries, 2) == [f"{receiver.url}/hook"]

    panel.deliveries_table.selectRow(0)
    assert panel.redeliver_button.isEnabled()
    panel.redeliver_button.click()
    qtbot.waitUntil(lambda: len(receiver.requests) == 2, timeout=DELIVERY_MS)
    assert receiver.requests[1]["body"] == ping["body"]  # the same event again
    qtbot.waitUntil(lambda: column_texts(panel.deliveries, 4) == ["Delivered", "Delivered"])


def test_a_webhook_is_refused_in_words_then_edited_switched_off_and_on_and_deleted(
        qtbot, start_desktop, account):
    desktop = start_desktop()
    panel = desktop.window.show_panel("webhooks")
    settle(qtbot)
    panel.add_button.click()
    dialog = find_dialog(qtbot, panel, WebhookDialog)
    dialog.url.setText("http://crm.example.com/hook")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "must use HTTPS" in dialog.error_text)
    assert dialog.url.property("invalid") is True
    dialog.url.setText("https://crm.example.com/hook")
    dialog.event_boxes["*"].setChecked(False)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "at least one event" in dialog.error_text)
    dialog.event_boxes["clock_in"].setChecked(True)
    dialog.save_button.click()
    reveal = find_dialog(qtbot, panel, WebhookSecretDialog)
    reveal.done_button.click()
    settle(qtbot)
    assert column_texts(panel.model, 1) == ["Worker clocked in"]

    panel.table.selectRow(0)
    panel.edit_button.click()
    editor = find_dialog(qtbot, panel, WebhookDialog)
    assert editor.url.text() == "https://crm.example.com/hook"
    editor.event_boxes["clock_out"].setChecked(True)
    editor.description.setText("CRM timeline")
    editor.save_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.model, 3) == ["CRM timeline"])
    assert column_texts(panel.model, 1) == ["Worker clocked in, Worker clocked out"]

    assert panel.active_button.text() == "Deactivate"
    panel.active_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.model, 2) == ["Inactive"])
    assert panel.active_button.text() == "Activate"
    assert not webhooks.list_webhooks(account.id).data[0].active
    panel.active_button.click()
    qtbot.waitUntil(lambda: column_texts(panel.model, 2) == ["Active"])

    panel.delete_button.click()
    box = visible_message_box(qtbot, "Delete the webhook to https://crm.example.com/hook?")
    click_button(box, "Delete webhook")
    qtbot.waitUntil(lambda: panel.stack.currentWidget() is panel.empty)
    assert webhooks.list_webhooks(account.id).data == []


def test_what_a_connector_sends_is_listed_with_the_webhooks_deliveries(
        qtbot, start_desktop, account, receiver):
    desktop = start_desktop(serve=True)
    allow_internal_targets(qtbot, desktop, desktop.window.show_panel("webhooks"))
    connectors_panel = desktop.window.show_panel("connectors")
    qtbot.waitUntil(lambda: connectors_panel.model.rowCount() >= 3)
    connectors_panel.select_connector("crm-push")
    settle(qtbot)
    connectors_panel.form.fields["url"].input.setText(f"{receiver.url}/crm")
    connectors_panel.save_button.click()
    qtbot.waitUntil(lambda: connectors.get_config(account.id, "crm-push").updated_at is not None)
    settle(qtbot)
    connectors_panel.enabled.click()
    qtbot.waitUntil(lambda: connectors.get_config(account.id, "crm-push").enabled)

    workers.create_worker(account.id, workers.WorkerCreate(first_name="Ana", last_name="Popa",
                                                           employee_ref="C-77"))
    qtbot.waitUntil(lambda: len(receiver.requests) == 1, timeout=DELIVERY_MS)
    assert receiver.requests[0]["path"] == "/crm"

    connectors_panel.deliveries_button.click()  # "Show what it sent"
    panel = desktop.window.panels["webhooks"]
    assert desktop.window.stack.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.show_filter.currentData() == CONNECTOR + "crm-push")
    qtbot.waitUntil(lambda: column_texts(panel.deliveries, 4) == ["Delivered"])
    assert column_texts(panel.deliveries, 1) == ["Worker added"]
    assert column_texts(panel.deliveries, 2) == [f"CRM push → {receiver.url}/crm"]
    panel.show_filter.setCurrentIndex(panel.show_filter.findData(EVERYTHING))
    panel.show_deliveries()
    qtbot.waitUntil(lambda: column_texts(panel.deliveries, 1) == ["Worker added"])


def test_while_delivery_is_off_the_panel_says_so_and_starts_it(qtbot, start_desktop):
    desktop = start_desktop()  # the API is not started: nor is delivery
    panel = desktop.window.show_panel("webhooks")
    settle(qtbot)
    assert panel.delivery_banner.isVisible()
    assert "queued but not sent" in panel.delivery_banner.text.text()
    assert "webhook delivery is off" in panel.delivery_banner.text.text()
    panel.start_delivery_button.click()
    assert desktop.dispatcher.state == delivery.RUNNING
    assert not panel.delivery_banner.isVisible()

    os.kill(desktop.dispatcher.pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: panel.delivery_banner.isVisible(), timeout=15_000)
    assert "stopped unexpectedly" in panel.delivery_banner.text.text()
    assert panel.start_delivery_button.text() == "Restart delivery"


def test_internal_addresses_wait_for_the_admin_and_a_record_never_shows_the_answer(
        qtbot, start_desktop, account, receiver):
    desktop = start_desktop(serve=True)
    panel = desktop.window.show_panel("webhooks")
    settle(qtbot)
    assert not panel.internal_targets.isChecked()
    assert "only to public HTTPS addresses" in panel.internal_text.text()
    panel.add_button.click()
    dialog = find_dialog(qtbot, panel, WebhookDialog)
    dialog.url.setText(f"{receiver.url}/hook")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "internal address not allowed" in dialog.error_text)
    dialog.reject()

    panel.internal_targets.click()  # asks first; cancelling changes nothing
    click_button(visible_message_box(qtbot, "Let this account's webhooks"), "Cancel")
    settle(qtbot)
    assert not panel.internal_targets.isChecked()
    assert not accounts.get_account(account.id).internal_targets_allowed
    allow_internal_targets(qtbot, desktop, panel)
    assert panel.internal_targets.isChecked()
    assert "(desktop)," in panel.internal_text.text()
    assert accounts.get_account(account.id).internal_targets_changed_by.startswith("desktop:")

    receiver.status, receiver.reply = 500, b"Internal admin page: SECRET-DATA"
    add_webhook(qtbot, panel, f"{receiver.url}/hook").done_button.click()
    settle(qtbot)
    panel.table.selectRow(0)
    panel.ping_button.click()
    qtbot.waitUntil(lambda: "Failed" in column_texts(panel.deliveries, 4), timeout=DELIVERY_MS)
    failed = column_texts(panel.deliveries, 4).index("Failed")
    assert column_texts(panel.deliveries, 6)[failed] == "HTTP 500"  # the Error column
    shown = [column_texts(panel.deliveries, n) for n in range(panel.deliveries.columnCount())]
    assert "SECRET-DATA" not in str(shown)

    panel.internal_targets.click()  # withdrawing asks nothing
    qtbot.waitUntil(lambda: not accounts.get_account(account.id).internal_targets_allowed)
    sent = len(receiver.requests)
    (delivery_id,) = [d.id for d in deliveries.list_deliveries(account.id)
                      if d.state == "failed"]
    deliveries.redeliver(account.id, delivery_id)
    qtbot.waitUntil(lambda: any((d.error or "").startswith("internal address not allowed")
                                for d in deliveries.list_deliveries(account.id)),
                    timeout=DELIVERY_MS)
    assert len(receiver.requests) == sent
