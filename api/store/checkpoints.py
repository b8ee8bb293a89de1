"""WAL checkpoints on a thread of their own, off the path of the writes a person waits for.

SQLite copies its write-ahead log back into the database (a checkpoint) from inside the
COMMIT that takes the log past 1,000 pages: two syncs of the disk and ~4 MB written,
10-30 ms, while the writer still holds its batch's answers. A kiosk at 500 punches/s
writes ~4.5 MB of log a second, so its group commit paid that about once a second, for
every punch of the batch and of the batch queued behind it: a few punches in a hundred,
which made the kiosk's p99 (bench/kiosk_punches.py). In a process that runs a
`Checkpointer` its connections never checkpoint on commit; the checkpointer's own
connection does, every `INTERVAL_S`, in PASSIVE mode (it never waits for or holds up a
writer or a reader). Other processes keep SQLite's automatic checkpoints, so the log
stays bounded whichever of them runs.
"""

from __future__ import annotations

import logging
import threading

from tempclock.api.store.models import database

log = logging.getLogger(__name__)

INTERVAL_S = 0.25
STOP_WAIT_S = 2.0  # a checkpoint under way finishes (it is bounded by the log's size)
NO_CHECKPOINT_ON_COMMIT = "PRAGMA wal_autocheckpoint = 0"
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"
# A writer starts the log afresh only if all of it was copied when it began. Punches at
# 300/s left gaps enough (the log stayed under 6 MB); writers that follow each other
# closely never do (100 commits of 330 KB in a row grew it to 32 MB, each checkpoint
# complete a moment too late), so past 16 MB the writers pause for one short checkpoint
# (of what came during the first): at 4.5 MB of log a second, one every 3-4 s.
CATCH_UP_PAGES = 4_000

_running = threading.Event()  # connections opened in this process leave checkpoints to it


def checkpoints_on_commit() -> bool:
    """Whether a connection opened now checkpoints on commit (no `Checkpointer` runs)."""
    return not _running.is_set()


class Checkpointer:
    """A thread that checkpoints the open SQLite store's log, for its process's writers."""

    def __init__(self, interval: float = INTERVAL_S, catch_up_pages: int = CATCH_UP_PAGES
                 ) -> None:
        self.interval = interval
        self.catch_up_pages = catch_up_pages
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)

    def start(self) -> Checkpointer:
        """Take the checkpoints over from this process's commits, from its next connection."""
        _running.set()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop (after a checkpoint under way); commits checkpoint again from then on."""
        self._stop.set()
        self._thread.join(STOP_WAIT_S)
        _running.clear()

    def checkpoint(self) -> None:
        """Copy the log into the database, without waiting for anyone; when the log has
        grown past `catch_up_pages`, again during a pause of the writers (their turn):
        the next writer then starts the log afresh."""
        _, pages, _ = database.execute_sql(CHECKPOINT).fetchone()
        if pages > self.catch_up_pages:
            with database.obj.writers_paused():
                database.execute_sql(CHECKPOINT)  # what was written since the first: little

    def _run(self) -> None:
        failing = False
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.checkpoint()
                except Exception:  # noqa: BLE001 - the thread must outlive a bad round
                    if not failing:  # once per run of failures: the next rounds try again
                        log.warning("WAL checkpoint failed; trying again every %.2f s",
                                    self.interval, exc_info=True)
                    failing = True
                else:
                    failing = False
        finally:
            if database.obj is not None and not database.is_closed():
                database.close()
