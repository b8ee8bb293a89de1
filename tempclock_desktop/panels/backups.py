"""Backups: back up now (to the backups folder or a file of the admin's choice), the daily
backup with how many to keep and where, the backups made so far, and restoring one.

Backing up is safe while the API serves. Restoring stops the API and webhook delivery,
replaces the store (what it held is kept beside it), then starts both again as they were.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
)

from tempclock.api.services import backups
from tempclock_desktop.backups import BackupSchedule, backup_folder
from tempclock_desktop.dispatcher import EmbeddedDispatcher
from tempclock_desktop.messages import confirm, show_error, show_notice
from tempclock_desktop.operations import Operation
from tempclock_desktop.panels.base import Panel
from tempclock_desktop.server import RUNNING, STARTING, STOPPED, EmbeddedServer
from tempclock_desktop.widgets import Banner, Card, button, label

MAX_KEEP = 365


def _when(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%a %d %b %Y, %H:%M")


class BackupsPanel(Panel):
    title = "Backups"
    subtitle = ("Copies of everything TempClock keeps, to go back to after a mistake or a "
                "broken disk. Backing up is safe while the API runs.")
    icon_name = "backups"

    backed_up = Signal(object)  # BackedUp
    restored = Signal(object)  # Restored

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.server: EmbeddedServer | None = None
        self.dispatcher: EmbeddedDispatcher | None = None
        self.schedule: BackupSchedule | None = None
        self.backup_button = button("Back up now", "backups", role="primary",
                                    on_click=self.back_up_now)
        self.backup_to_file_button = button("Back up to a file…", "export",
                                            on_click=self.back_up_to_file)
        self.header_actions.addWidget(self.backup_to_file_button)
        self.header_actions.addWidget(self.backup_button)

        self.banner = Banner("danger")
        self.content.addWidget(self.banner)

        daily = Card()
        daily.body.addWidget(label("Daily backup", "SectionTitle"))
        self.daily = QCheckBox("Back up every day while TempClock runs")
        self.daily.toggled.connect(self._save_schedule)
        daily.body.addWidget(self.daily)
        keep_row = QHBoxLayout()
        keep_row.addWidget(label("Keep the last"))
        self.keep = QSpinBox()
        self.keep.setRange(1, MAX_KEEP)
        self.keep.setMinimumWidth(80)
        self.keep.valueChanged.connect(self._save_schedule)
        keep_row.addWidget(self.keep)
        keep_row.addWidget(label("backups; older ones are deleted."))
        keep_row.addStretch(1)
        daily.body.addLayout(keep_row)
        folder_row = QHBoxLayout()
        folder_row.addWidget(label("Folder"))
        self.folder = QLineEdit()
        self.folder.setReadOnly(True)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(button("Choose…", "folder", on_click=self.choose_folder))
        folder_row.addWidget(button("Open", on_click=self._open_folder))
        daily.body.addLayout(folder_row)
        daily.body.addWidget(label("A folder on another disk or a network drive keeps the "
                                   "backups safe when this computer's disk fails.", "Muted",
                                   wrap=True))
        self.content.addWidget(daily)

        made = Card()
        made.body.addWidget(label("Backups in the folder", "SectionTitle"))
        self.last_label = label("", "Muted", wrap=True)
        made.body.addWidget(self.last_label)
        self.list = QListWidget()
        self.list.itemSelectionChanged.connect(self._selection_changed)
        made.body.addWidget(self.list, 1)
        restore_row = QHBoxLayout()
        restore_row.addWidget(label("Restoring stops the API and webhook delivery for a moment "
                                    "and replaces everything TempClock holds with the backup; "
                                    "what it holds now is kept beside it.", "Muted", wrap=True),
                              1)
        self.restore_selected_button = button("Restore this backup…", "history", role="danger",
                                              on_click=self._restore_selected)
        self.restore_file_button = button("Restore from a file…", "history",
                                          on_click=lambda: self.restore())
        restore_row.addWidget(self.restore_file_button)
        restore_row.addWidget(self.restore_selected_button)
        made.body.addLayout(restore_row)
        self.content.addWidget(made, 1)
        self._load_schedule()
        self._selection_changed()
        self.unsupported = backups.unsupported(session.config)
        if self.unsupported:  # PostgreSQL: its own tools back it up
            self.notice = Banner("info")
            self.notice.show_message(self.unsupported)
            self.content.insertWidget(1, self.notice)
            for widget in (daily, made, self.backup_button, self.backup_to_file_button):
                widget.setEnabled(False)

    def attach(self, server: EmbeddedServer, dispatcher: EmbeddedDispatcher,
               schedule: BackupSchedule) -> None:
        self.server, self.dispatcher, self.schedule = server, dispatcher, schedule
        schedule.finished.connect(lambda _made: self.reload())
        schedule.failed.connect(lambda _why: self._show_schedule_state())
        self._show_schedule_state()

    # --- what is there ---------------------------------------------------------------

    def reload(self) -> None:
        if self.unsupported:
            return
        folder = backup_folder(self.session)
        Operation(self, lambda: backups.scheduled_backups(folder), success=self._show).run()

    def _show(self, found: backups.ScheduledBackups) -> None:
        self.list.clear()
        for made in found.backups:
            size = backups.size_in_words(made.size_bytes)
            name = Path(made.path).name
            item = QListWidgetItem(f"{_when(made.taken_at)}  ·  {size}  ·  {name}")
            item.setData(Qt.ItemDataRole.UserRole, made.path)
            self.list.addItem(item)
        self.last_label.setText(
            f"Last backup {_when(found.latest_at)}; {len(found.backups)} kept in {found.folder}."
            if found.latest_at else f"No backup in {found.folder} yet.")
        self._show_schedule_state()

    def _show_schedule_state(self) -> None:
        error = self.schedule.last_error if self.schedule is not None else None
        if error:
            self.banner.show_message(f"<b>The daily backup failed.</b> {html.escape(error)}")
        else:
            self.banner.hide()

    def _selection_changed(self) -> None:
        self.restore_selected_button.setEnabled(bool(self.list.selectedItems()))

    # --- settings --------------------------------------------------------------------

    def _load_schedule(self) -> None:
        settings = self.session.settings
        for widget in (self.daily, self.keep):
            widget.blockSignals(True)
        self.daily.setChecked(settings.backup_daily)
        self.keep.setValue(settings.backup_keep)
        for widget in (self.daily, self.keep):
            widget.blockSignals(False)
        self.folder.setText(str(backup_folder(self.session)))

    def _save_schedule(self) -> None:
        settings = self.session.settings
        settings.backup_daily = self.daily.isChecked()
        settings.backup_keep = self.keep.value()
        self.session.save_settings()
        if settings.backup_daily and self.schedule is not None:
            self.schedule.check()  # switched on: the first backup need not wait a day

    def choose_folder(self, folder: str | None = None) -> None:
        """Put dated backups in another folder (a dialog asks when none is given)."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Folder for backups",
                                                      self.folder.text())
            if not folder:
                return
        self.session.settings.backup_folder = folder
        self.session.save_settings()
        self.folder.setText(folder)
        self.reload()

    def _open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text()))

    # --- backing up ------------------------------------------------------------------

    def back_up_now(self) -> None:
        """A dated backup in the folder, keeping the chosen number of backups."""
        folder, keep = backup_folder(self.session), self.session.settings.backup_keep

        def make() -> backups.BackedUp:
            folder.mkdir(parents=True, exist_ok=True)
            return backups.back_up(self.session.config, folder, keep=keep)

        self._run_backup(make)

    def back_up_to_file(self, path: str | None = None) -> None:
        """A backup to a file of the admin's choice (a dialog asks when none is given)."""
        if path is None:
            suggested = backup_folder(self.session) / backups.backup_name()
            path, _kind = QFileDialog.getSaveFileName(self, "Back up to a file", str(suggested),
                                                      "TempClock backups (*.db)")
            if not path:
                return
        target = Path(path)
        self._run_backup(lambda: backups.back_up(self.session.config, target))

    def _run_backup(self, make) -> None:
        self._busy(True)

        def done(made: backups.BackedUp) -> None:
            self._busy(False)
            self.reload()
            self.backed_up.emit(made)
            size = backups.size_in_words(made.backup.size_bytes)
            key = (f"\n\nThe kiosk PIN key is copied beside it ({Path(made.pin_key).name}): "
                   "keep the two together." if made.pin_key else "")
            show_notice(self, "Backed up",
                        f"Backed up to {made.backup.path} ({size}): {made.backup.holds}.{key}")

        def failed(error: BaseException) -> None:
            self._busy(False)
            show_error(self, error, "The backup was not made")

        Operation(self, make, success=done, failure=failed).run()

    def _busy(self, busy: bool) -> None:
        for widget in (self.backup_button, self.backup_to_file_button,
                       self.restore_file_button):
            widget.setEnabled(not busy)
        self.restore_selected_button.setEnabled(not busy and bool(self.list.selectedItems()))

    # --- restoring -------------------------------------------------------------------

    def _restore_selected(self) -> None:
        items = self.list.selectedItems()
        if items:
            self.restore(items[0].data(Qt.ItemDataRole.UserRole))

    def restore(self, path: str | None = None) -> None:
        """Ask, then replace the store with the backup at `path` (a dialog asks when None)."""
        if path is None:
            path, _kind = QFileDialog.getOpenFileName(
                self, "Restore from a backup", self.folder.text(),
                "TempClock backups (*.db);;All files (*)")
            if not path:
                return
        source = Path(path)
        confirm(self, "Restore from this backup?",
                f"Everything TempClock holds now will be replaced by the backup "
                f"{source.name}. The API and webhook delivery stop while this happens and start "
                "again after. What TempClock holds now is kept beside it, in the data folder.",
                "Restore", lambda: self._restore(source), danger=True)

    def _restore(self, source: Path) -> None:
        server, dispatcher = self.server, self.dispatcher
        serving = server is not None and server.state in (RUNNING, STARTING)
        delivering = dispatcher is not None and dispatcher.running
        config = self.session.config
        self._busy(True)

        def resume() -> None:
            self._busy(False)
            if serving:  # as it was: same address, port and certificate
                server.start(server.host, server.port, server.tls)
            elif delivering:
                dispatcher.start()

        def done(restored: backups.RestoredWithKey) -> None:
            resume()
            self._reload_everything()
            self.restored.emit(restored)
            note = backups.pin_key_note(restored)
            show_notice(self, "Restored",
                        f"TempClock now holds the backup {source.name}: "
                        f"{restored.backup.holds}. What it held before is kept as "
                        f"{restored.replaced or 'nothing (there was no data)'}."
                        + (f"\n\n{note}" if note else ""))

        def failed(error: BaseException) -> None:
            resume()
            show_error(self, error, "Nothing was restored")

        def replace() -> None:
            # Webhook delivery runs in a process of its own that uses the store: it stops first.
            if dispatcher is not None:
                dispatcher.shutdown()
            Operation(self, lambda: backups.restore(config, source), success=done,
                      failure=failed).run()

        if not serving:
            replace()
            return

        def when_stopped(state: str) -> None:
            if state == STOPPED:
                server.state_changed.disconnect(when_stopped)
                replace()

        server.state_changed.connect(when_stopped)
        server.stop()

    def _reload_everything(self) -> None:
        from tempclock_desktop.main_window import accounts_for_desktop

        session = self.session

        def show(found) -> None:
            shown = session.account
            session.set_accounts(found)
            if shown is not None and session.account is not None and session.account.id == shown.id:
                # The same account, with other data: every panel reloads as on a switch.
                session.account_changed.emit(session.account)

        Operation(self, accounts_for_desktop, success=show).run()
