"""Adding or editing a webhook subscription, and the one-time reveal of its signing secret."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QLineEdit, QVBoxLayout, QWidget

from tempclock.api.services.names import EVENT_NAMES, SUBSCRIBABLE_EVENTS, event_name
from tempclock.api.services.webhooks import (
    WebhookCreate,
    WebhookCreated,
    WebhookSubscription,
    WebhookUpdate,
)
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.dialogs.reveal import SecretRevealDialog
from tempclock_desktop.widgets import ChoiceGrid, label


class WebhookDialog(FormDialog):
    """URL, events, description (and, when editing, whether it is active).

    `payload` is a `WebhookCreate` or a `WebhookUpdate`.
    """

    def __init__(self, parent: QWidget | None, webhook: WebhookSubscription | None,
                 save: Callable[[Any], Any]) -> None:
        super().__init__(parent, "Edit webhook" if webhook else "Add webhook",
                         save_text="Save" if webhook else "Add webhook", save=save)
        self.setMinimumWidth(600)
        self.webhook = webhook
        self.url = QLineEdit(webhook.url if webhook else "")
        self.url.setPlaceholderText("https://example.com/tempclock-events")
        address = QWidget()
        column = QVBoxLayout(address)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        column.addWidget(self.url)
        column.addWidget(label("HTTPS to a public address. This computer and the office "
                               "network only when allowed on the Webhooks page.", "FieldHelp",
                               wrap=True))
        self.add_row("URL", address)
        self.fields["url"] = self.url
        chosen = webhook.events if webhook else ["*"]
        # "ping" is not offered: the Test button sends one; a subscription keeps it, unseen.
        self._kept = [event for event in chosen if event not in SUBSCRIBABLE_EVENTS]
        self.event_grid = ChoiceGrid(
            [(event, EVENT_NAMES[event].label, EVENT_NAMES[event].help)
             for event in SUBSCRIBABLE_EVENTS], chosen)
        self.event_boxes = self.event_grid.boxes
        events = QWidget()
        column = QVBoxLayout(events)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.event_grid)
        column.addWidget(label("Alerts are sent only when ticked.", "FieldHelp"))
        self.add_row("Events", events, "events")
        self.description = QLineEdit(webhook.description if webhook else "")
        self.description.setPlaceholderText("What receives it, e.g. Bullhorn sync")
        self.add_row("Description", self.description, "description")
        self.active = QCheckBox("Active (deliveries are sent)")
        self.active.setChecked(webhook.active if webhook else True)
        self.add_row("", self.active, "active")

    @property
    def events(self) -> list[str]:
        return [*self.event_grid.chosen, *self._kept]

    @property
    def payload(self) -> WebhookCreate | WebhookUpdate:
        values = {"url": self.url.text().strip(), "events": self.events,
                  "description": self.description.text(), "active": self.active.isChecked()}
        if self.webhook is None:
            return WebhookCreate(**values)
        return WebhookUpdate(**values)


class WebhookSecretDialog(SecretRevealDialog):
    """Shows a new webhook's signing secret once."""

    def __init__(self, parent: QWidget | None, created: WebhookCreated) -> None:
        events = ", ".join(event_name(e) for e in created.events)
        super().__init__(
            parent,
            title="Your webhook's signing secret",
            heading="Webhook added",
            intro=f"Deliveries to {created.url} are signed with this secret. Give it to the "
                  "receiving system now so it can check that each delivery comes from "
                  "TempClock (X-TempClock-Signature, or the Standard Webhooks headers).",
            secret=created.secret,
            warning="This secret will not be shown again. If it is lost, delete the webhook "
                    "and add it again.",
            details=f"Events: {events}" + (f" · {created.description}"
                                           if created.description else ""),
            done_text="I have stored the secret",
        )
