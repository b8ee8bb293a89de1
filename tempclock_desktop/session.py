"""What the window works on: the configuration, the saved settings, the chosen account and
the installed plugins.

Panels read `session.account_id` when they start an operation, and listen to
`account_changed` (reload everything) and `data_changed(kind)` (another panel
changed workers, shifts... so views that show them refresh).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from tempclock.api.config import Config
from tempclock.api.services.accounts import Account
from tempclock_desktop.settings import DesktopSettings, save_settings

if TYPE_CHECKING:
    from tempclock.plugins.manager import PluginHost

# The kinds of data a change can touch, as `data_changed` names them.
WORKERS, LOCATIONS, DEPARTMENTS, COST_CODES = "workers", "locations", "departments", "cost_codes"
SHIFTS, ENTRIES, KEYS, ACCOUNTS = "shifts", "entries", "keys", "accounts"
CONNECTORS, WEBHOOKS = "connectors", "webhooks"
DISPLAY = "display"  # how values read (the hours format), not data


class Session(QObject):
    account_changed = Signal(object)  # the Account now shown
    accounts_changed = Signal(list)  # every Account
    data_changed = Signal(str, object)  # one of the kinds above, the panel that changed it

    def __init__(self, config: Config, settings: DesktopSettings,
                 plugins: PluginHost | None = None) -> None:
        super().__init__()
        self.config = config
        self.settings = settings
        self.accounts: list[Account] = []
        self.account: Account | None = None
        self._plugins = plugins
        self._plugins_lock = threading.Lock()

    @property
    def exports_dir(self) -> Path:
        """Where connector exports are written (as `tempclock connectors run` writes them)."""
        return self.config.data_dir / "exports"

    def plugin_host(self) -> PluginHost:
        """The installed plugins, loaded on first use (it imports them: call it on the pool)."""
        with self._plugins_lock:
            if self._plugins is None:
                from tempclock.plugins.manager import load_plugins  # not at start-up

                self._plugins = load_plugins()
            return self._plugins

    def close_plugins(self) -> None:
        with self._plugins_lock:
            if self._plugins is not None:
                self._plugins.close()

    @property
    def account_id(self) -> int:
        if self.account is None:
            raise RuntimeError("no account chosen yet")
        return self.account.id

    def set_accounts(self, accounts: list[Account]) -> None:
        """Take the account list; keep the current account (or the saved one, or the first)."""
        self.accounts = accounts
        if self.account is not None:  # a renamed account shows its new name everywhere
            self.account = next((a for a in accounts if a.id == self.account.id), self.account)
        self.accounts_changed.emit(accounts)
        wanted = self.account.id if self.account else self.settings.account_id
        chosen = next((a for a in accounts if a.id == wanted), accounts[0] if accounts else None)
        if chosen is not None and (self.account is None or chosen.id != self.account.id):
            self.choose_account(chosen.id)
        elif chosen is not None:
            self.account = chosen

    def choose_account(self, account_id: int) -> None:
        """Show another account: every panel reloads with its data only."""
        account = next(a for a in self.accounts if a.id == account_id)
        if self.account is not None and self.account.id == account_id:
            self.account = account
            return
        self.account = account
        self.settings.account_id = account_id
        self.save_settings()
        self.account_changed.emit(account)

    def update_account(self, account: Account) -> None:
        """A service changed the current account (API switch, retention)."""
        self.accounts = [account if a.id == account.id else a for a in self.accounts]
        if self.account is not None and self.account.id == account.id:
            self.account = account
        self.data_changed.emit(ACCOUNTS, None)

    def notify(self, kind: str, source: object = None) -> None:
        """Tell panels that `kind` changed; `source` (the panel that changed it) is not told."""
        self.data_changed.emit(kind, source)

    def save_settings(self) -> None:
        # Settings are a convenience; an unwritable data directory shows up elsewhere.
        with contextlib.suppress(OSError):
            save_settings(self.config, self.settings)
