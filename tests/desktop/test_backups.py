"""The Backups panel: back up now or to a file, the daily backup keeping the chosen number,
restoring while the API serves (it stops, the store is replaced, it serves again as it was),
and restoring refused while another program uses the store."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import subprocess
import sys
from pathlib import Path

from desktop_helpers import (
    STARTS_WITHIN_MS,
    TIMEOUT_MS,
    click_button,
    column_texts,
    settle,
    visible_message_box,
)

from tempclock.api.services import workers
from tempclock.api.store.backup import backup_name, list_backups
from tempclock_desktop.server import RUNNING


def add_worker(account_id: int, name: str) -> None:
    workers.create_worker(account_id, workers.WorkerCreate(first_name=name, last_name="Temp"))


def names(account_id: int) -> list[str]:
    return [w.first_name for w in workers.list_workers(account_id).data]


def test_backing_up_now_and_to_a_file_of_ones_choosing(qtbot, start_desktop, tmp_path):
    desktop = start_desktop()
    panel = desktop.window.show_panel("backups")
    folder = desktop.config.data_dir / "backups"
    assert panel.folder.text() == str(folder)
    assert panel.daily.isChecked() and panel.keep.value() == 7  # on by default, a week deep

    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS) as made:
        panel.backup_button.click()
    assert Path(made.args[0].backup.path).parent == folder
    visible_message_box(qtbot, "Backed up to").accept()
    qtbot.waitUntil(lambda: panel.list.count() == 1, timeout=TIMEOUT_MS)
    assert "Last backup" in panel.last_label.text()

    chosen = tmp_path / "before-payroll.db"
    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS):
        panel.back_up_to_file(str(chosen))
    assert chosen.exists()
    visible_message_box(qtbot, str(chosen)).accept()


def test_the_daily_backup_runs_when_due_and_keeps_the_chosen_number(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("backups")
    schedule = desktop.window.backup_schedule
    folder = desktop.config.data_dir / "backups"
    folder.mkdir()
    now = dt.datetime.now(dt.UTC)
    for days in (3, 2):  # earlier daily backups
        (folder / backup_name(now - dt.timedelta(days=days))).write_text("an old backup")
    panel.keep.setValue(2)
    assert desktop.session.settings.backup_keep == 2

    with qtbot.waitSignal(schedule.finished, timeout=TIMEOUT_MS):
        schedule.check()
    kept = [p.name for p in list_backups(folder)]
    assert len(kept) == 2 and kept[1] == backup_name(now - dt.timedelta(days=2))
    qtbot.waitUntil(lambda: panel.list.count() == 2, timeout=TIMEOUT_MS)

    schedule.check()  # made today already: not due
    settle(qtbot)
    assert len(list_backups(folder)) == 2

    panel.daily.setChecked(False)  # switched off: nothing is made, however long it has been
    for path in list_backups(folder):
        path.unlink()
    schedule.check()
    settle(qtbot)
    assert list_backups(folder) == []
    assert desktop.session.settings.backup_daily is False


def test_a_failing_daily_backup_is_shown_in_the_panel(qtbot, start_desktop, tmp_path):
    desktop = start_desktop()
    panel = desktop.window.show_panel("backups")
    not_a_folder = tmp_path / "usb-stick"
    not_a_folder.write_text("a file where the folder should be")
    panel.choose_folder(str(not_a_folder))
    with qtbot.waitSignal(desktop.window.backup_schedule.failed, timeout=TIMEOUT_MS):
        desktop.window.backup_schedule.check()
    assert panel.banner.isVisible()
    assert "The daily backup failed" in panel.banner.text.text()


def test_restoring_while_serving_stops_the_api_replaces_the_data_and_serves_again(
        qtbot, account, start_desktop, api_client):
    add_worker(account.id, "Before")
    desktop = start_desktop(serve=True)
    server = desktop.server
    port = server.port
    panel = desktop.window.show_panel("backups")
    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS) as made:
        panel.backup_button.click()
    backup = made.args[0].backup.path
    visible_message_box(qtbot, "Backed up to").accept()
    add_worker(account.id, "After")
    workers_panel = desktop.window.panel("workers")

    panel.restore(backup)
    box = visible_message_box(qtbot, "Restore from this backup?")
    with qtbot.waitSignal(panel.restored, timeout=TIMEOUT_MS) as restored:
        click_button(box, "Restore")
    visible_message_box(qtbot, "TempClock now holds the backup").accept()
    replaced = Path(restored.args[0].replaced)
    assert replaced.exists()

    qtbot.waitUntil(lambda: server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    assert server.port == port  # as it was
    qtbot.waitUntil(lambda: desktop.dispatcher.running, timeout=STARTS_WITHIN_MS)
    assert api_client(server.url).get("/api/v1/workers").status_code == 401  # up
    assert names(account.id) == ["Before"]
    desktop.window.show_panel("workers")
    qtbot.waitUntil(lambda: column_texts(workers_panel.model, 0) == ["Before Temp"],
                    timeout=TIMEOUT_MS)


def test_restoring_is_refused_while_another_program_uses_the_store(qtbot, account,
                                                                   start_desktop):
    desktop = start_desktop(serve=True)
    panel = desktop.window.show_panel("backups")
    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS) as made:
        panel.backup_button.click()
    visible_message_box(qtbot, "Backed up to").accept()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from api.config import load_config; from api.store import open_store; "
         f"open_store(load_config({str(desktop.config.data_dir)!r})); print('open', flush=True);"
         " sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        panel.restore(made.args[0].backup.path)
        click_button(visible_message_box(qtbot, "Restore from this backup?"), "Restore")
        refusal = visible_message_box(qtbot, "Nothing was restored")
        assert "in use by a running TempClock" in refusal.text()
        refusal.accept()
    finally:
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)


def test_a_crafted_backup_is_refused_with_a_message_and_the_data_kept(qtbot, account,
                                                                       start_desktop):
    add_worker(account.id, "Before")
    desktop = start_desktop()
    panel = desktop.window.show_panel("backups")
    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS) as made:
        panel.backup_button.click()
    visible_message_box(qtbot, "Backed up to").accept()
    crafted = made.args[0].backup.path
    with contextlib.closing(sqlite3.connect(crafted)) as db, db:
        db.execute("CREATE TRIGGER keep_keys AFTER UPDATE OF revoked_at ON api_key "
                   "BEGIN UPDATE api_key SET revoked_at = NULL WHERE id = NEW.id; END")
    add_worker(account.id, "After")

    panel.restore(crafted)
    click_button(visible_message_box(qtbot, "Restore from this backup?"), "Restore")
    refusal = visible_message_box(qtbot, "Nothing was restored")
    assert "not a store as TempClock makes it" in refusal.text()
    refusal.accept()
    assert sorted(names(account.id)) == ["After", "Before"]
    assert list(desktop.config.data_dir.glob("*before-restore*")) == []


def test_a_backup_says_where_the_kiosk_pin_key_went_and_a_restore_without_it_says_what_to_do(
        qtbot, account, start_desktop):
    from tempclock.api.services import pins

    worker = workers.create_worker(account.id, workers.WorkerCreate(first_name="Ann",
                                                                    last_name="Temp"))
    pins.set_pin(account.id, worker.id, "482913")
    desktop = start_desktop()
    panel = desktop.window.show_panel("backups")
    with qtbot.waitSignal(panel.backed_up, timeout=TIMEOUT_MS) as made:
        panel.backup_button.click()
    backup = Path(made.args[0].backup.path)
    visible_message_box(qtbot, "The kiosk PIN key is copied beside it").accept()
    assert pins.key_beside(backup).exists()

    pins.key_beside(backup).unlink()  # the .db alone, as if copied from another PC
    panel.restore(str(backup))
    box = visible_message_box(qtbot, "Restore from this backup?")
    with qtbot.waitSignal(panel.restored, timeout=TIMEOUT_MS):
        click_button(box, "Restore")
    notice = visible_message_box(qtbot, "TempClock now holds the backup")
    assert "The backup holds 1 kiosk PIN but no PIN key beside it" in notice.text()
    notice.accept()
