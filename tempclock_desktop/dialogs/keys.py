"""Issuing an API key, and the one-time reveal of the key itself."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

import msgspec
from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tempclock.api.services.keys import DEFAULT_RATE_LIMIT, MAX_RATE_LIMIT, ApiKey, IssuedKey
from tempclock.api.services.names import SCOPE_NAMES, scope_name
from tempclock_desktop.dialogs.fields import OptionalDate
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.dialogs.reveal import SecretRevealDialog
from tempclock_desktop.widgets import Banner, ChoiceGrid, label


class KeyRequest(msgspec.Struct, kw_only=True):
    """What the admin asked for: passed to `keys.issue_key`."""

    name: str
    scopes: list[str]
    expires_on: dt.date | None
    rate_limit: int


class IssueKeyDialog(FormDialog):
    """Name (required), scopes (none ticked = full access), optional expiry, rate limit;
    filled in from the key it replaces, when it replaces one."""

    def __init__(self, parent: QWidget | None, save: Callable[[KeyRequest], Any], *,
                 warning: str | None = None, replacing: ApiKey | None = None) -> None:
        super().__init__(parent, "Replace API key" if replacing else "Issue API key",
                         save_text="Issue key", save=save)
        self.setMinimumWidth(560)
        self.warning = Banner("warning")  # e.g. API access is off: the key will be refused
        if warning:
            self.warning.show_message(html.escape(warning))
        self.body.insertWidget(1, self.warning)
        self.name = QLineEdit(replacing.name if replacing else "")
        self.name.setPlaceholderText("What uses it, e.g. Bullhorn ATS")
        self.add_row("Name", self.name, "name")
        self.scope_grid = ChoiceGrid(
            [(scope, n.label, n.help) for scope, n in SCOPE_NAMES.items()],
            replacing.scopes if replacing else ())
        self.scope_grid.changed.connect(self._scopes_changed)
        self.scope_boxes = self.scope_grid.boxes
        scopes = QWidget()
        column = QVBoxLayout(scopes)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.scope_grid)
        self.access = label("", "Muted", wrap=True, rich=True)  # our own markup only
        column.addWidget(self.access)
        self.add_row("Allowed to", scopes, "scopes")
        self.expires = OptionalDate("Expires after")
        self.expires.date.setMinimumDate(QDate.currentDate())
        self.expires.date.setDate(QDate.currentDate().addYears(1))
        self.add_row("Expiry", self.expires, "expires")
        self.rate_limit = QSpinBox()
        self.rate_limit.setRange(1, MAX_RATE_LIMIT)
        self.rate_limit.setValue(DEFAULT_RATE_LIMIT)
        self.rate_limit.setSuffix(" requests / minute")
        self.add_row("Rate limit", self.rate_limit, "rate_limit")
        self._scopes_changed()

    def _scopes_changed(self) -> None:
        chosen = self.scopes
        self.access.setText(
            "<b>Full access</b>: nothing ticked, so this key may do everything."
            if not chosen else f"Only these {len(chosen)}; anything else is turned away.")

    @property
    def scopes(self) -> list[str]:
        return self.scope_grid.chosen

    @property
    def payload(self) -> KeyRequest:
        return KeyRequest(name=self.name.text(), scopes=self.scopes,
                          expires_on=self.expires.value, rate_limit=self.rate_limit.value())


class KeyRevealDialog(SecretRevealDialog):
    """Shows a newly issued key once."""

    def __init__(self, parent: QWidget | None, issued: IssuedKey) -> None:
        scopes = ("full access" if not issued.key.scopes
                  else ", ".join(scope_name(s) for s in issued.key.scopes))
        super().__init__(
            parent,
            title="Your new API key",
            heading=f"API key “{issued.key.name}” issued",
            intro="Give this key to the integration now. It is the only time TempClock "
                  "shows it: only a hash is stored.",
            secret=issued.plaintext,
            warning="This key will not be shown again. If it is lost, revoke it and issue "
                    "a new one.",
            details=f"Prefix {issued.key.prefix}… · {scopes} · "
                    f"{issued.key.rate_limit} requests/minute",
            done_text="I have stored the key",
        )

    @property
    def key_text(self) -> QLineEdit:
        return self.secret_text
