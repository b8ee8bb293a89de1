"""Settings › API keys: who may call the API, with what scopes; issue, reveal once, revoke."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from tempclock.api.services import accounts, keys
from tempclock.api.services.names import scope_name
from tempclock_desktop import session as kinds
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRequest, KeyRevealDialog
from tempclock_desktop.formatting import when
from tempclock_desktop.messages import confirm, show_error
from tempclock_desktop.models.records import Column
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.session import Session
from tempclock_desktop.tables import RecordTable
from tempclock_desktop.widgets import Card, EmptyState, button, label

STATUS_ORDER = {"Active": 0, "Expired": 1, "Revoked": 2}
ACCESS_OFF_WARNING = ("API access is off for this account: a key issued now is refused "
                      "until you turn access on.")


def open_issue_key(parent: QWidget, session: Session,
                   on_issued: Callable[[keys.IssuedKey], None], *,
                   replacing: keys.ApiKey | None = None) -> IssueKeyDialog:
    """The issue-key dialog, then the one-time reveal; `on_issued` receives the new key.
    `replacing`: the key the new one replaces (the dialog starts from its name and scopes)."""
    account = session.account
    assert account is not None
    account_id = account.id

    def save(request: KeyRequest) -> keys.IssuedKey:
        return keys.issue_key(account_id, request.name, scopes=request.scopes,
                              expires_on=request.expires_on, rate_limit=request.rate_limit)

    def issued(key: keys.IssuedKey) -> None:
        session.notify(kinds.KEYS, parent)
        on_issued(key)
        KeyRevealDialog(parent, key).open()

    dialog = IssueKeyDialog(parent, save, replacing=replacing,
                            warning=None if account.api_enabled else ACCESS_OFF_WARNING)
    dialog.saved.connect(issued)
    dialog.open()
    return dialog


def allowed_text(key: keys.ApiKey) -> str:
    """What a key may do, in the admin's words."""
    return ", ".join(scope_name(scope) for scope in key.scopes) if key.scopes else "Full access"


def allowed_ids(key: keys.ApiKey) -> str:
    """The scope ids behind `allowed_text`, for a tooltip."""
    return "\n".join(key.scopes) or "Every endpoint"


class ApiKeysPanel(Panel):
    title = "API keys"
    subtitle = ("Keys your integrations (ATS, CRM, payroll) use to sign in to the API. "
                "A key is shown once, when it is issued.")
    icon_name = "api_keys"
    depends_on = (kinds.KEYS, kinds.ACCOUNTS)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.issue_button = button("Issue key…", "add", role="primary", on_click=self.issue)
        self.revoke_button = button("Revoke…", "deactivate", role="danger",
                                    on_click=self.revoke_selected)
        self.header_actions.addWidget(self.revoke_button)
        self.header_actions.addWidget(self.issue_button)

        self.content.addWidget(self._access_card())
        self.table = RecordTable(
            "api_keys", session,
            [
                Column("Name", lambda k: k.name),
                Column("Key prefix", lambda k: k.display_prefix),
                Column("Allowed to", allowed_text, tooltip=allowed_ids, stretch=True),
                Column("Status", lambda k: k.status, lambda k: STATUS_ORDER.get(k.status, 9)),
                Column("Limit", lambda k: f"{k.rate_limit}/min", lambda k: k.rate_limit,
                       align_right=True),
                Column("Created", lambda k: when(k.created_at), lambda k: k.created_at),
                Column("Last used", lambda k: when(k.last_used_at, empty="Never"),
                       lambda k: k.last_used_at.isoformat() if k.last_used_at else ""),
                Column("Expires", lambda k: when(k.expires_at, empty="Never"),
                       lambda k: k.expires_at.isoformat() if k.expires_at else "9999"),
            ],
            page_size=None,  # one page: every key of the account
            muted=lambda k: k.status != "Active",
            parent=self,
        )
        self.model, self.proxy = self.table.records, self.table.proxy
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.empty = EmptyState(
            "api_keys", "No keys yet",
            "Each integration (your ATS, CRM or payroll software) needs its own key to use "
            "the API. Issue one when an integration is ready: TempClock shows it once, for "
            "you to copy into that integration.")
        self.empty.add_button(button("Issue key…", "add", role="primary", on_click=self.issue))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty)
        self.model.reloaded.connect(lambda: self.stack.setCurrentWidget(
            self.empty if self.model.rowCount() == 0 else self.table))
        self.content.addWidget(self.stack, 1)
        self.hint = label("Revoking takes effect on the key's very next request.", "Muted")
        self.content.addWidget(self.hint)
        self._selection()

    def _access_card(self) -> Card:
        """Whether integrations may connect at all; while off, the way to turn it on."""
        access = Card()
        row = QHBoxLayout()
        text = QVBoxLayout()
        text.setSpacing(2)
        self.access_title = label("API access", "SectionTitle")
        text.addWidget(self.access_title)
        self.access_text = label("", "Muted", wrap=True)
        text.addWidget(self.access_text)
        row.addLayout(text, 1)
        self.turn_on_button = button("Turn on API access", role="primary",
                                     on_click=lambda: self._switch_access(True))
        row.addWidget(self.turn_on_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.api_enabled = QCheckBox("API access enabled")
        self.api_enabled.setObjectName("Switch")
        self.api_enabled.clicked.connect(self._switch_access)
        row.addWidget(self.api_enabled, 0, Qt.AlignmentFlag.AlignVCenter)
        access.body.addLayout(row)
        self.access_card = access
        return access

    def reload(self) -> None:
        account_id = self.session.account_id
        self._show_access(self.session.account)
        self.model.set_fetch(lambda cursor: keys.list_keys(account_id) if cursor is None else [])

    def _show_access(self, account) -> None:
        if account is None:
            return
        on = account.api_enabled
        self.api_enabled.setChecked(on)
        self.api_enabled.setVisible(on)
        self.turn_on_button.setVisible(not on)
        self.access_card.setObjectName("Card" if on else "Banner")
        self.access_card.setProperty("kind", "warning")
        self.access_card.style().polish(self.access_card)
        self.access_title.setText("API access is on" if on else
                                  f"API access is off for {account.name}")
        self.access_text.setText(
            "Integrations can call the API with the active keys below."
            if on else
            "Integrations are refused, even with a valid key. Turn access on when an "
            "integration is ready to connect.")
        self.issue_button.setToolTip("" if on else ACCESS_OFF_WARNING)

    def _switch_access(self, on: bool) -> None:
        account_id = self.session.account_id
        self.api_enabled.setEnabled(False)
        self.turn_on_button.setEnabled(False)

        def done(account) -> None:
            self.api_enabled.setEnabled(True)
            self.turn_on_button.setEnabled(True)
            self.session.update_account(account)
            self._show_access(account)

        def failed(error) -> None:
            self.api_enabled.setEnabled(True)
            self.turn_on_button.setEnabled(True)
            self._show_access(self.session.account)
            show_error(self, error)

        Operation(self, lambda: accounts.set_api_enabled(account_id, on), success=done,
                  failure=failed).run()

    def selected(self):
        return self.table.selected_record()

    def _selection(self) -> None:
        key = self.selected()
        self.revoke_button.setEnabled(key is not None and key.status != "Revoked")

    def issue(self, like: int | None = None) -> None:
        """Ask for a new key; `like`: the id of a key it replaces (its name and scopes)."""
        if like is None:
            self._ask_for_key(None)
            return
        account_id = self.session.account_id
        Operation(self, lambda: keys.get_key(like, account_id),
                  success=self._ask_for_key).run()

    def _ask_for_key(self, replacing: keys.ApiKey | None) -> None:
        open_issue_key(self, self.session, lambda _issued: self.model.reload(),
                       replacing=replacing)

    def revoke_selected(self) -> None:
        key = self.selected()
        if key is not None:
            self.revoke(key.id, key.name, key.display_prefix)

    def revoke(self, key_id: int, name: str, prefix: str) -> None:
        """Ask, then revoke: the key's next request is refused with 401."""
        account_id = self.session.account_id

        def done(_key) -> None:
            self.model.reload()
            self.session.notify(kinds.KEYS, self)

        confirm(self, "Revoke API key",
                f"Revoke “{name}” ({prefix})?\n\nThe integration using it is refused from its "
                "very next request. This cannot be undone; issue a new key to restore access.",
                "Revoke key",
                lambda: Operation(self, lambda: keys.revoke_key(key_id, account_id),
                                  success=done).run(),
                danger=True)
