"""Settings › API keys: who may call the API, with what scopes; issue, reveal once, revoke."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QVBoxLayout

from api.services import accounts, keys
from api.services.names import scope_name
from tempclock_desktop import session as kinds
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRequest, KeyRevealDialog
from tempclock_desktop.formatting import when
from tempclock_desktop.messages import confirm, show_error
from tempclock_desktop.models.records import RECORD_ROLE, Column, RecordTableModel
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.widgets import Card, SortProxy, button, label, table_view

STATUS_ORDER = {"Active": 0, "Expired": 1, "Revoked": 2}


def allowed_text(key: keys.ApiKey) -> str:
    """What a key may do, in the admin's words."""
    return ", ".join(scope_name(scope) for scope in key.scopes) if key.scopes else "Full access"


def allowed_ids(key: keys.ApiKey) -> str:
    """The scope ids behind `allowed_text`, for a tooltip."""
    return "\n".join(key.scopes) or "Every endpoint"


class ApiKeysPanel(Panel):
    title = "API keys"
    subtitle = ("Keys your integrations (ATS, CRM, payroll) use to reach TempClock. "
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

        access = Card()
        row = QHBoxLayout()
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(label("API access", "SectionTitle"))
        self.access_text = label("", "Muted", wrap=True)
        text.addWidget(self.access_text)
        row.addLayout(text, 1)
        self.api_enabled = QCheckBox("API access enabled")
        self.api_enabled.setObjectName("Switch")
        self.api_enabled.clicked.connect(self._switch_access)
        row.addWidget(self.api_enabled, 0, Qt.AlignmentFlag.AlignVCenter)
        access.body.addLayout(row)
        self.content.addWidget(access)

        self.model = RecordTableModel(
            [
                Column("Name", lambda k: k.name),
                Column("Key prefix", lambda k: k.display_prefix),
                Column("Allowed to", allowed_text, tooltip=allowed_ids),
                Column("Status", lambda k: k.status, lambda k: STATUS_ORDER.get(k.status, 9)),
                Column("Limit", lambda k: f"{k.rate_limit}/min", lambda k: k.rate_limit,
                       align_right=True),
                Column("Created", lambda k: when(k.created_at), lambda k: k.created_at),
                Column("Last used", lambda k: when(k.last_used_at, empty="Never"),
                       lambda k: k.last_used_at.isoformat() if k.last_used_at else ""),
                Column("Expires", lambda k: when(k.expires_at, empty="Never"),
                       lambda k: k.expires_at.isoformat() if k.expires_at else "9999"),
            ],
            lambda _cursor: [],
            page_size=None,  # one page: every key of the account
            muted=lambda k: k.status != "Active",
            parent=self,
        )
        self.proxy = SortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = table_view()
        self.table.setModel(self.proxy)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        widths = (170, 150, 220, 80, 80, 130, 130)
        for n, width in enumerate(widths):
            self.table.horizontalHeader().resizeSection(n, width)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._selection())
        self.content.addWidget(self.table, 1)
        self.hint = label("Revoking takes effect on the key's very next request.", "Muted")
        self.content.addWidget(self.hint)
        self._selection()

    def reload(self) -> None:
        account_id = self.session.account_id
        self._show_access(self.session.account)
        self.model.set_fetch(lambda cursor: keys.list_keys(account_id) if cursor is None else [])

    def _show_access(self, account) -> None:
        if account is None:
            return
        self.api_enabled.setChecked(account.api_enabled)
        self.access_text.setText(
            "Integrations can call the API with the active keys below."
            if account.api_enabled else
            "Off: every request with this account's keys is refused with 403, even with a "
            "valid key. Turn it on when an integration is ready.")

    def _switch_access(self, on: bool) -> None:
        account_id = self.session.account_id
        self.api_enabled.setEnabled(False)

        def done(account) -> None:
            self.api_enabled.setEnabled(True)
            self.session.update_account(account)
            self._show_access(account)

        def failed(error) -> None:
            self.api_enabled.setEnabled(True)
            self._show_access(self.session.account)
            show_error(self, error)

        Operation(self, lambda: accounts.set_api_enabled(account_id, on), success=done,
                  failure=failed).run()

    def selected(self):
        rows = self.table.selectionModel().selectedRows()
        return self.proxy.data(rows[0], RECORD_ROLE) if rows else None

    def _selection(self) -> None:
        key = self.selected()
        self.revoke_button.setEnabled(key is not None and key.status != "Revoked")

    def issue(self, like: int | None = None) -> None:
        """Ask for a new key; `like`: the id of a key it replaces (its name and scopes)."""
        account_id = self.session.account_id
        if like is not None:
            Operation(self, lambda: keys.get_key(like, account_id),
                      success=lambda old: self._ask_for_key(account_id, old)).run()
        else:
            self._ask_for_key(account_id, None)

    def _ask_for_key(self, account_id: int, replacing: keys.ApiKey | None) -> None:

        def save(request: KeyRequest) -> keys.IssuedKey:
            return keys.issue_key(account_id, request.name, scopes=request.scopes,
                                  expires_on=request.expires_on, rate_limit=request.rate_limit)

        dialog = IssueKeyDialog(self, save, replacing=replacing)
        dialog.saved.connect(self._issued)
        dialog.open()

    def _issued(self, issued: keys.IssuedKey) -> None:
        self.model.reload()
        self.session.notify(kinds.KEYS, self)
        KeyRevealDialog(self, issued).open()

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
