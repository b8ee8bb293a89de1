"""Webhooks: subscriptions (added with their secret shown once, edited, switched on and off,
deleted, pinged) and their deliveries, updating live; what connectors such as CRM push
send is listed the same way. A failed or delivered attempt can be sent again. The
account's switch for internal targets (this PC, the office network) lives here too."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services import accounts, deliveries, webhooks
from tempclock.api.services.deliveries import Delivery
from tempclock.api.services.names import event_name
from tempclock.api.services.webhooks import WebhookCreated, WebhookSubscription
from tempclock_desktop import dispatcher as delivery
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import page_of
from tempclock_desktop.dialogs.webhooks import WebhookDialog, WebhookSecretDialog
from tempclock_desktop.dispatcher import EmbeddedDispatcher
from tempclock_desktop.formatting import duration_ms, when, when_precise
from tempclock_desktop.messages import confirm, show_error
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.tables import NONE, RecordTable
from tempclock_desktop.widgets import Banner, Card, EmptyState, button, label

LIVE_MS = 1000  # how often deliveries are looked at again
SHOWN_DELIVERIES = 100
SELECTED, EVERYTHING = "selected", "everything"
CONNECTOR = "connector:"  # + a connector id
RESENDABLE = ("delivered", "failed")


def without_secret(created: WebhookCreated) -> WebhookSubscription:
    """The subscription a new one describes, minus the secret (which is only ever revealed)."""
    return WebhookSubscription(**{name: getattr(created, name)
                                  for name in WebhookSubscription.__struct_fields__})


def _state_tip(sent: Delivery) -> str:
    """The state, and when it is tried again (the "Next attempt" column is hidden at first)."""
    state = sent.state.capitalize()
    if sent.state in ("pending", "failed") and sent.next_attempt_at is not None:
        return f"{state}; next attempt {when_precise(sent.next_attempt_at)}"
    return state


class WebhooksPanel(Panel):
    title = "Webhooks"
    subtitle = ("Your systems hear about clock-ins, clock-outs and worker changes as they "
                "happen. Each delivery is signed with the webhook's secret.")
    icon_name = "webhooks"
    depends_on = (kinds.WEBHOOKS, kinds.CONNECTORS)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.dispatcher: EmbeddedDispatcher | None = None
        self._header_buttons()
        self.content.addWidget(self._internal_targets_card())
        self.content.addWidget(self._delivery_banner())

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._subscriptions_view())
        splitter.addWidget(self._deliveries_view())
        splitter.setSizes([190, 500])
        self.content.addWidget(splitter, 1)

        self._shown: dict[str, object] | None = None  # the deliveries on screen, as a filter
        self._token = object()  # replaced when the filter changes: late polls are dropped
        self._connector_names: dict[str, str] = {}
        self._wanted_connector: str | None = None
        self._polling = False
        self._live = QTimer(self)
        self._live.setInterval(LIVE_MS)
        self._live.timeout.connect(self.poll)
        self._live.start()
        self._selection()
        self._delivery_selection()

    def _header_buttons(self) -> None:
        self.ping_button = button("Send test", "send", on_click=self.ping_selected)
        self.edit_button = button("Edit…", "edit", on_click=self._edit_selected)
        self.active_button = button("Deactivate", "deactivate", on_click=self.toggle_selected)
        self.delete_button = button("Delete…", "deactivate", role="danger",
                                    on_click=self.delete_selected)
        self.add_button = button("Add webhook…", "add", role="primary",
                                 on_click=lambda: self.open_editor(None))
        for widget in (self.ping_button, self.edit_button, self.active_button,
                       self.delete_button, self.add_button):
            self.header_actions.addWidget(widget)

    def _delivery_banner(self) -> Banner:
        self.delivery_banner = Banner("warning")
        self.start_delivery_button = button("Start delivery", "play",
                                            on_click=self._start_delivery)
        self.delivery_banner.actions.addWidget(self.start_delivery_button)
        return self.delivery_banner

    def _subscriptions_view(self) -> QStackedWidget:
        self.table = RecordTable(
            "webhooks", self.session,
            [
                Column("URL", lambda w: w.url, width=200),
                Column("Events", lambda w: ", ".join(event_name(e) for e in w.events),
                       max_width=300, tooltip=lambda w: "\n".join(w.events)),
                Column("Status", lambda w: "Active" if w.active else "Inactive"),
                Column("Description", lambda w: w.description, stretch=True),
                Column("Created", lambda w: when(w.created_at)),
            ],
            sorting=NONE,
            muted=lambda w: not w.active,
            parent=self,
        )
        self.model = self.table.records
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.table.doubleClicked.connect(lambda _index: self._edit_selected())
        self.model.reloaded.connect(self._loaded)
        self.empty = EmptyState(
            "webhooks", "No webhooks yet",
            "Add the address of a system that should hear about clock-ins, clock-outs and "
            "worker changes the moment they happen. Each delivery is signed with a secret "
            "that is shown once.")
        self.empty.add_button(button("Add webhook…", "add", role="primary",
                                     on_click=lambda: self.open_editor(None)))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        return self.stack

    def _deliveries_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        bar.addWidget(label("Deliveries", "SectionTitle"))
        self.show_filter = QComboBox()
        self.show_filter.setMinimumWidth(220)
        self.show_filter.addItem("Of the selected webhook", SELECTED)
        self.show_filter.addItem("Everything sent", EVERYTHING)
        self.show_filter.activated.connect(lambda _i: self.show_deliveries())
        bar.addWidget(self.show_filter)
        self.notice = label("", "Muted")
        bar.addWidget(self.notice, 1)
        self.redeliver_button = button("Redeliver", "refresh", on_click=self.redeliver_selected,
                                       tip="Send this event again now, as a new series of "
                                           "attempts")
        bar.addWidget(self.redeliver_button)
        return bar

    def _deliveries_view(self) -> QWidget:
        lower = QWidget()
        column = QVBoxLayout(lower)
        column.setContentsMargins(0, 8, 0, 0)
        column.setSpacing(8)
        column.addLayout(self._deliveries_bar())
        self.deliveries_table = RecordTable(
            "webhook_deliveries", self.session,
            [
                Column("Time", lambda d: when_precise(d.created_at)),
                Column("Event", lambda d: event_name(d.event), tooltip=lambda d: d.event),
                Column("To", self._target, tooltip=self._target),
                Column("Attempt", lambda d: str(d.attempt), align_right=True),
                Column("State", lambda d: d.state.capitalize(), tooltip=_state_tip),
                # The answer's HTTP status; a failure's shows in its error too.
                Column("Status", lambda d: "" if d.status_code is None else str(d.status_code),
                       secondary=True),
                # Why a delivery failed, before the lesser columns: on screen at 1440 px.
                Column("Error", lambda d: d.error or "", max_width=600, stretch=True),
                # Behind the column chooser: at 1440 px the error needs the room.
                Column("Duration", lambda d: "" if d.duration_ms is None
                       else duration_ms(d.duration_ms), align_right=True, secondary=True),
                Column("Next attempt", lambda d: when_precise(d.next_attempt_at)
                       if d.state in ("pending", "failed") else "", secondary=True),
            ],
            sorting=NONE,  # newest first
            page_size=SHOWN_DELIVERIES,
            muted=lambda d: d.state == "pending",
            parent=self,
        )
        self.deliveries = self.deliveries_table.records
        self.deliveries_table.selectionModel().selectionChanged.connect(
            lambda *_: self._delivery_selection())
        column.addWidget(self.deliveries_table, 1)
        return lower

    # --- where deliveries may go ------------------------------------------------------

    def _internal_targets_card(self) -> Card:
        card = Card(margins=10)
        row = QHBoxLayout()
        self.internal_text = label("", "Muted", wrap=True)
        row.addWidget(self.internal_text, 1)
        self.internal_targets = QCheckBox("Allow this PC and the office network")
        self.internal_targets.setObjectName("Switch")
        self.internal_targets.clicked.connect(self._switch_internal_targets)
        row.addWidget(self.internal_targets, 0, Qt.AlignmentFlag.AlignVCenter)
        card.body.addLayout(row)
        return card

    def _show_internal_targets(self, account) -> None:
        if account is None:
            return
        allowed = account.internal_targets_allowed
        self.internal_targets.setChecked(allowed)
        text = ("Webhooks and connectors may also send to this PC and the office network."
                if allowed else
                "Webhooks and connectors send only to public HTTPS addresses. Allow this PC "
                "and the office network for a receiver inside the office.")
        if account.internal_targets_changed_at is not None:
            program, _, user = (account.internal_targets_changed_by or "").partition(":")
            who = f"{user} ({program})" if user else program
            text += f" Last changed by {who}, {when(account.internal_targets_changed_at)}."
        self.internal_text.setText(text)

    def _switch_internal_targets(self, on: bool) -> None:
        """Allow (after asking) or withdraw sending to internal addresses for the account."""
        account_id = self.session.account_id
        self._show_internal_targets(self.session.account)  # until the change is made

        def done(account) -> None:
            self.internal_targets.setEnabled(True)
            self.session.update_account(account)
            self._show_internal_targets(account)

        def failed(error) -> None:
            self.internal_targets.setEnabled(True)
            show_error(self, error)

        def apply() -> None:
            self.internal_targets.setEnabled(False)
            Operation(self, lambda: accounts.allow_internal_targets(
                account_id, on, by=accounts.local_admin("desktop")),
                success=done, failure=failed).run()

        if not on:
            apply()
            return
        confirm(self, "Allow internal addresses",
                "Let this account's webhooks and connectors send to this PC and the office "
                "network?\n\nAnyone with one of its API keys that may change webhooks can "
                "then make this PC send requests to machines inside your office. Allow it "
                "only for a receiver you run yourself.", "Allow", apply)

    # --- delivery process ------------------------------------------------------------

    def attach(self, dispatcher: EmbeddedDispatcher) -> None:
        self.dispatcher = dispatcher
        dispatcher.state_changed.connect(lambda _state: self._show_delivery_state())
        self._show_delivery_state()

    def _show_delivery_state(self) -> None:
        dispatcher = self.dispatcher
        if dispatcher is None or dispatcher.running:
            self.delivery_banner.hide()
            return
        failed = dispatcher.state == delivery.FAILED
        self.start_delivery_button.setText("Restart delivery" if failed else "Start delivery")
        self.delivery_banner.show_message(
            "<b>Deliveries are queued but not sent:</b> "
            + ("webhook delivery stopped unexpectedly." if failed else
               "webhook delivery is off (it starts with the API).")
            + " Nothing is lost; everything queued goes out once it runs.")

    def _start_delivery(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.start()

    # --- subscriptions -----------------------------------------------------------------

    def reload(self) -> None:
        account_id, session = self.session.account_id, self.session
        self._show_internal_targets(session.account)
        self.model.set_fetch(lambda after: page_of(webhooks.list_webhooks, account_id,
                                                   webhooks.WebhookFilter, after))

        def event_connectors() -> list[tuple[str, str]]:
            found = session.plugin_host().connectors.values()
            return sorted((c.connector.id, c.connector.name) for c in found
                          if "receive_events" in c.connector.capabilities)

        Operation(self, event_connectors, success=self._connectors_loaded).run()

    def _connectors_loaded(self, found: list[tuple[str, str]]) -> None:
        self._connector_names = dict(found)
        self.deliveries.refresh_texts()  # "To" names the connectors now known
        current = self.show_filter.currentData()
        while self.show_filter.count() > 2:
            self.show_filter.removeItem(2)
        for connector_id, name in found:
            self.show_filter.addItem(f"Sent by {name}", CONNECTOR + connector_id)
        wanted = (CONNECTOR + self._wanted_connector) if self._wanted_connector else current
        self._wanted_connector = None
        self.show_filter.setCurrentIndex(max(self.show_filter.findData(wanted), 0))
        self.show_deliveries()

    def _loaded(self) -> None:
        self.stack.setCurrentWidget(self.empty if self.model.rowCount() == 0 else self.table)
        if self.model.rowCount() and self.selected() is None:
            self.table.selectRow(0)
        self._selection()

    def selected(self) -> WebhookSubscription | None:
        return self.table.selected_record()

    def select_id(self, webhook_id: int) -> None:
        row = self.model.row_of(webhook_id)
        if row is not None:
            self.table.selectRow(row)

    def _selection(self) -> None:
        hook = self.selected()
        for widget in (self.ping_button, self.edit_button, self.active_button,
                       self.delete_button):
            widget.setEnabled(hook is not None)
        self.active_button.setText("Activate" if hook is not None and not hook.active
                                   else "Deactivate")
        self.ping_button.setToolTip("Send a test delivery (a ping event) to this webhook alone"
                                    if hook is None or hook.active
                                    else "Inactive: the test delivery is queued, and "
                                                        "sent like any other delivery")
        if self.show_filter.currentData() == SELECTED:
            self.show_deliveries()

    def _saved(self, hook: WebhookSubscription) -> None:
        self.stack.setCurrentWidget(self.table)
        self.model.upsert(hook)
        self.select_id(hook.id)
        self._selection()
        self.session.notify(kinds.WEBHOOKS, self)

    def open_editor(self, hook: WebhookSubscription | None) -> None:
        """Add (hook None) or edit a subscription; a new one's secret is then shown once."""
        account_id = self.session.account_id

        def save(payload):
            if hook is None:
                return webhooks.create_webhook(account_id, payload)
            return webhooks.update_webhook(account_id, hook.id, payload)

        dialog = WebhookDialog(self, hook, save)
        dialog.saved.connect(self._added if hook is None else self._saved)
        dialog.open()

    def _added(self, created: WebhookCreated) -> None:
        self._saved(without_secret(created))
        WebhookSecretDialog(self, created).open()

    def _edit_selected(self) -> None:
        hook = self.selected()
        if hook is not None:
            self.open_editor(hook)

    def toggle_selected(self) -> None:
        """Switch the selected subscription on or off."""
        hook = self.selected()
        if hook is None:
            return
        account_id = self.session.account_id
        change = webhooks.WebhookUpdate(active=not hook.active)
        Operation(self, lambda: webhooks.update_webhook(account_id, hook.id, change),
                  success=self._saved).run()

    def delete_selected(self) -> None:
        hook = self.selected()
        if hook is None:
            return
        account_id = self.session.account_id

        def deleted(_hook) -> None:
            self.model.reload()
            self.session.notify(kinds.WEBHOOKS, self)

        confirm(self, "Delete webhook",
                f"Delete the webhook to {hook.url}?\n\nNothing more is sent to it and its "
                "delivery history is removed. This cannot be undone.",
                "Delete webhook",
                lambda: Operation(self, lambda: webhooks.delete_webhook(account_id, hook.id),
                                  success=deleted).run(),
                danger=True)

    def ping_selected(self) -> None:
        """Queue a `ping` for the selected webhook; it shows below as it is sent."""
        hook = self.selected()
        if hook is None:
            return
        account_id = self.session.account_id

        def queued(_ping: webhooks.PingQueued) -> None:
            self.notice.setText(f"Test delivery queued for {hook.url}.")
            self.poll()

        Operation(self, lambda: webhooks.ping_webhook(account_id, hook.id),
                  success=queued).run()

    # --- deliveries ------------------------------------------------------------------------

    def show_connector_deliveries(self, connector_id: str) -> None:
        """Show what one connector sent (the Connectors panel links here)."""
        index = self.show_filter.findData(CONNECTOR + connector_id)
        if index < 0:  # the list of connectors has not arrived yet
            self._wanted_connector = connector_id
            return
        self.show_filter.setCurrentIndex(index)
        self.show_deliveries()

    def _filter(self) -> dict[str, object] | None:
        """The deliveries to show, as `list_deliveries` arguments (None: nothing to show)."""
        chosen = self.show_filter.currentData()
        if chosen == SELECTED:
            hook = self.selected()
            return None if hook is None else {"subscription_id": hook.id}
        if isinstance(chosen, str) and chosen.startswith(CONNECTOR):
            return {"connector": chosen.removeprefix(CONNECTOR)}
        return {}

    def show_deliveries(self) -> None:
        """Load the deliveries the filter asks for, newest first."""
        if self.session.account is None:
            return
        account_id, shown = self.session.account_id, self._filter()
        self._shown, self._token = shown, object()
        self.deliveries.set_fetch(
            lambda cursor: [] if shown is None or cursor is not None else
            deliveries.list_deliveries(account_id, limit=SHOWN_DELIVERIES, **shown))

    def poll(self) -> None:
        """Add new deliveries and update the state of those shown (live)."""
        shown, token = self._shown, self._token
        if (shown is None or not self.isVisible() or self._polling or self.deliveries.loading
                or self.session.account is None):
            return
        account_id = self.session.account_id
        self._polling = True

        def arrived(found: list[Delivery]) -> None:
            self._polling = False
            if token is not self._token:
                return  # the filter changed meanwhile
            newest = max((d.id for d in self.deliveries.records), default=0)
            self.deliveries.prepend([d for d in found if d.id > newest])
            for record in found:
                row = self.deliveries.row_of(record.id)
                if row is not None and self.deliveries.record(row) != record:
                    self.deliveries.upsert(record)
            self._delivery_selection()

        def failed(_error: BaseException) -> None:
            self._polling = False

        Operation(self, lambda: deliveries.list_deliveries(account_id, limit=SHOWN_DELIVERIES,
                                                           **shown),
                  success=arrived, failure=failed).run()

    def _target(self, sent: Delivery) -> str:
        if sent.connector is not None:
            name = self._connector_names.get(sent.connector, sent.connector)
            return f"{name} → {sent.url}"
        row = self.model.row_of(sent.subscription_id)
        return self.model.record(row).url if row is not None else f"webhook {sent.subscription_id}"

    def selected_delivery(self) -> Delivery | None:
        return self.deliveries_table.selected_record()

    def _delivery_selection(self) -> None:
        sent = self.selected_delivery()
        self.redeliver_button.setEnabled(sent is not None and sent.state in RESENDABLE)

    def redeliver_selected(self) -> None:
        """Send the selected delivery's event again, now."""
        sent = self.selected_delivery()
        if sent is None or sent.state not in RESENDABLE:
            return
        account_id = self.session.account_id

        def queued(_again: Delivery) -> None:
            self.notice.setText(f"Delivery {sent.id} queued again.")
            self.poll()

        Operation(self, lambda: deliveries.redeliver(account_id, sent.id), success=queued).run()
