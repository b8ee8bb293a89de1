"""The scheduled daily backup the desktop makes, the backups panel's list, and what the CLI says
when a backup deletes older ones or a restore upgrades an older backup into an empty folder."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest
from cli_runs import run_tempclock
from playhouse.migrations import Runner

from tempclock.api.config import Config
from tempclock.api.services import backups
from tempclock.api.store import MIGRATIONS_DIR, _connect
from tempclock.api.store.backup import list_backups

pytestmark = pytest.mark.sqlite_only

OLD_STAMPS = ["20260301-020000", "20260302-020000", "20260303-020000"]


def old_backups(folder: Path) -> None:
    """Three dated backups of early March (their content is not read by the schedule)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stamp in OLD_STAMPS:
        (folder / f"tempclock-{stamp}.db").write_text(stamp)


def test_the_daily_backup_is_made_when_due_keeping_the_newest_few(config, store, tmp_path):
    folder = tmp_path / "backups"
    old_backups(folder)
    done = backups.back_up_if_due(config, folder, keep=2)
    assert done is not None and Path(done.backup.path).parent == folder
    assert sorted(Path(p).name for p in done.deleted) == [
        "tempclock-20260301-020000.db", "tempclock-20260302-020000.db"]
    assert [p.name for p in list_backups(folder)] == [
        Path(done.backup.path).name, "tempclock-20260303-020000.db"]


def test_no_second_backup_is_made_within_the_day(config, store, tmp_path):
    folder = tmp_path / "backups"
    first = backups.back_up_if_due(config, folder)
    assert first is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=23)
    assert backups.back_up_if_due(config, folder, now=later) is None
    assert len(list_backups(folder)) == 1


def test_the_first_scheduled_backup_makes_its_folder_private(config, store, tmp_path):
    folder = tmp_path / "not" / "there" / "yet"
    backups.back_up_if_due(config, folder)
    assert folder.stat().st_mode & 0o777 == 0o700
    assert len(list_backups(folder)) == 1


def test_the_backups_panel_lists_the_dated_backups_newest_first_with_size_and_time(tmp_path):
    folder = tmp_path / "backups"
    old_backups(folder)
    (folder / "notes.txt").write_text("not a backup")
    listed = backups.scheduled_backups(folder)
    assert listed.folder == str(folder)
    assert [(Path(b.path).name, b.taken_at, b.size_bytes) for b in listed.backups] == [
        (f"tempclock-{stamp}.db", dt.datetime.strptime(stamp, "%Y%m%d-%H%M%S").replace(
            tzinfo=dt.UTC), len(stamp)) for stamp in reversed(OLD_STAMPS)]


def test_only_a_postgresql_store_is_said_to_need_its_own_tools(config, tmp_path):
    assert backups.unsupported(config) is None
    postgres = Config(data_dir=tmp_path, database_url="postgresql://tc:pw@127.0.0.1/tempclock")
    assert "pg_dump" in backups.unsupported(postgres)


def tempclock(data: Path, *args: str) -> subprocess.CompletedProcess:
    done = run_tempclock([*args, "--data-dir", str(data)])
    assert done.returncode == 0, done.stderr
    return done


def test_the_cli_says_how_many_older_backups_it_deleted(tmp_path):
    data, folder = tmp_path / "data", tmp_path / "backups"
    old_backups(folder)
    tempclock(data, "accounts", "create", "Acme")
    said = tempclock(data, "db", "backup", str(folder), "--keep", "2").stdout
    assert "Deleted 2 older backups." in said
    assert len(list_backups(folder)) == 2


def test_a_restore_of_an_older_backup_into_an_empty_folder_says_it_upgraded_it(tmp_path):
    made = tmp_path / "made"
    tempclock(made, "accounts", "create", "Acme")
    backup = tmp_path / "old.db"
    tempclock(made, "db", "backup", str(backup))
    db = _connect(Config(data_dir=tmp_path / "old", database_url=f"sqlite:///{backup}"))
    undone = Runner(db, str(MIGRATIONS_DIR)).down()
    db.close()

    fresh = tmp_path / "fresh"
    said = tempclock(fresh, "db", "restore", str(backup)).stdout
    assert f"Upgraded the restored store: {', '.join(undone)}" in said
    assert "kept as" not in said  # nothing was there to keep
    listed = json.loads(tempclock(fresh, "accounts", "list", "--json").stdout)
    assert [a["name"] for a in listed["accounts"]] == ["Acme"]
