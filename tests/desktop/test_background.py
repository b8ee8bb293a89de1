"""The background helper and lazy tables: database work never runs on the GUI thread, its
outcome comes back there, errors are shown in words, large lists load a page at a time."""

from __future__ import annotations

import threading

import shiboken6
from desktop_helpers import settle, visible_message_box
from PySide6.QtWidgets import QWidget

from tempclock.api.services import workers
from tempclock.api.services.errors import Conflict
from tempclock.api.store import database
from tempclock_desktop.choices import page_of
from tempclock_desktop.models.records import Column, RecordTableModel
from tempclock_desktop.operations import Operation


def test_an_operation_runs_off_the_gui_thread_and_answers_on_it(qtbot):
    parent = QWidget()
    seen: dict[str, object] = {}

    def work() -> int:
        seen["work_thread"] = threading.current_thread()
        return 42

    def done(value: int) -> None:
        seen["result"] = value
        seen["answer_thread"] = threading.current_thread()

    Operation(parent, work, success=done).run()
    qtbot.waitUntil(lambda: "result" in seen)
    assert seen["work_thread"] is not threading.main_thread()
    assert seen["answer_thread"] is threading.main_thread()
    assert seen["result"] == 42


def test_a_refusal_is_shown_to_the_admin_in_words_by_default(qtbot):
    parent = QWidget()
    parent.show()

    def refuse() -> None:
        raise Conflict("Worker 7 is already clocked in")

    Operation(parent, refuse).run()
    box = visible_message_box(qtbot, "Worker 7 is already clocked in")
    box.accept()


def test_progress_reaches_the_gui_and_a_closed_window_gets_no_callback(qtbot):
    parent = QWidget()
    reports: list[tuple[int, int, str]] = []
    release = threading.Event()
    called: list[object] = []

    def work(report) -> str:
        report(1, 2, "half")
        release.wait(5)
        return "done"

    Operation(parent, work, success=called.append,
              progress=lambda d, t, w: reports.append((d, t, w))).run()
    qtbot.waitUntil(lambda: reports == [(1, 2, "half")])
    shiboken6.delete(parent)
    release.set()
    settle(qtbot)
    assert called == []


def test_a_large_list_loads_one_page_at_a_time(qtbot, account, make_worker):
    # 250 workers in one transaction: three pages of 100.
    with database.atomic():
        for n in range(250):
            make_worker(account.id, f"W{n:03d}", "Test")
    model = RecordTableModel(
        [Column("Name", lambda w: w.name)],
        lambda after: page_of(workers.list_workers, account.id, workers.WorkerFilter, after),
    )
    model.reload()
    qtbot.waitUntil(lambda: model.rowCount() == 100)
    settle(qtbot)
    assert model.rowCount() == 100 and model.canFetchMore()
    model.fetchMore()
    qtbot.waitUntil(lambda: model.rowCount() == 200)
    with qtbot.waitSignal(model.page_loaded):
        model.load_all()
    qtbot.waitUntil(lambda: model.exhausted)
    assert model.rowCount() == 250
    assert [model.record(n).first_name for n in (0, 249)] == ["W000", "W249"]


def test_a_long_session_does_not_wear_away_references_to_none(qtbot):
    # PySide6 6.12.0 dropped a reference to None on every void call; on Python 3.11 a window
    # open for hours then aborts with "deallocating None". pyproject.toml keeps it out.
    import gc
    import sys

    from PySide6.QtWidgets import QLabel

    label = QLabel()
    # Garbage left by earlier tests, collected mid-loop, would drop references to None too.
    gc.collect()
    gc.disable()
    try:
        before = sys.getrefcount(None)
        for n in range(2000):
            label.setText(str(n))
        after = sys.getrefcount(None)
    finally:
        gc.enable()
    assert abs(after - before) < 100
