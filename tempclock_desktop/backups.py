"""The daily backup: while the desktop runs, the store is backed up once a day.

A backup is due when the chosen folder's newest dated backup is a day old, or there is
none, so a desktop closed overnight backs up soon after it starts and never twice a day.
The check runs a minute after start and every quarter of an hour; the backup itself runs
through `Operation` (safe while the API serves) and keeps the admin's count of backups.
How it went is reported by signal; a failure is shown in the Backups panel, never as a
message box popping up at night.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from tempclock.api.services import backups
from tempclock_desktop.messages import describe
from tempclock_desktop.operations import Operation
from tempclock_desktop.session import Session

log = logging.getLogger(__name__)

FIRST_CHECK_MS = 60_000  # start-up stays quick
CHECK_EVERY_MS = 15 * 60_000


def backup_folder(session: Session) -> Path:
    """Where dated backups go: the admin's folder, or `backups` in the data directory."""
    chosen = session.settings.backup_folder
    return Path(chosen) if chosen else backups.default_folder(session.config)


class BackupSchedule(QObject):
    """Backs the store up when a daily backup is due; `check()` looks now."""

    finished = Signal(object)  # the BackedUp of a backup just made
    failed = Signal(str)  # why the last scheduled backup failed

    def __init__(self, session: Session, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.running = False
        self.last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_EVERY_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        QTimer.singleShot(FIRST_CHECK_MS, self, self.check)

    def check(self) -> None:
        """Make the daily backup if it is switched on and due (at most one at a time)."""
        settings = self.session.settings
        if not settings.backup_daily or self.running or backups.unsupported(self.session.config):
            return
        self.running = True
        config, folder = self.session.config, backup_folder(self.session)
        keep = settings.backup_keep
        Operation(self, lambda: backups.back_up_if_due(config, folder, keep=keep),
                  success=self._done, failure=self._failed).run()

    def _done(self, made: backups.BackedUp | None) -> None:
        self.running = False
        if made is not None:
            self.last_error = None
            log.info("daily backup written to %s", made.backup.path)
            self.finished.emit(made)

    def _failed(self, error: BaseException) -> None:
        self.running = False
        self.last_error = describe(error)
        log.error("the daily backup failed: %s", self.last_error)
        self.failed.emit(self.last_error)
