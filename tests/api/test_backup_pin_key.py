"""Kiosk PINs survive a move to a new PC: a backup carries the PIN key beside it, a restore
brings it back, and a restore without it says what the admin must do."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cli_runs import run_tempclock

from tempclock.api.config import load_config
from tempclock.api.services import kiosk, pins
from tempclock.api.store import close_store, open_store

pytestmark = pytest.mark.sqlite_only

PIN = "482913"


def tc(data: Path, *args: str, ok: bool = True) -> dict:
    done = run_tempclock([*args, "--json", "--data-dir", str(data)])
    assert (done.returncode == 0) == ok, done.stderr + done.stdout
    return json.loads(done.stdout)


def text_of(data: Path, *args: str) -> str:
    done = run_tempclock([*args, "--data-dir", str(data)])
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture
def old_pc(store, config, account, site, worker):
    """An agency with a kiosk at its site and a worker with a PIN (this data folder's key)."""
    pins.set_pin(account.id, worker.id, PIN)
    token = kiosk.create_link(account.id, site.id, "http://office").url.rsplit("/", 1)[1]
    return config.data_dir, token


def clock_in_on(data: Path, token: str) -> str:
    """Clock in with the PIN at the kiosk of the store in `data`; the worker it greeted."""
    close_store()
    open_store(load_config(data))
    return kiosk.punch(token, PIN, "clock_in").first_name


def test_a_restore_on_a_new_pc_brings_the_pin_key_back_and_pins_keep_working(old_pc, tmp_path):
    data, token = old_pc
    folder = tmp_path / "backups"
    folder.mkdir()
    made = tc(data, "db", "backup", str(folder))
    copy = Path(made["pin_key"])
    assert copy == pins.key_beside(Path(made["path"]))
    assert copy.read_bytes() == (data / pins.SECRET_FILENAME).read_bytes()
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    new_pc = tmp_path / "new-pc"
    tc(new_pc, "accounts", "list")  # a fresh install: its own store, no PIN key yet
    restored = tc(new_pc, "db", "restore", made["path"])
    assert restored["pin_key"] == "restored"
    assert restored["backup"]["pins"] == 1
    assert clock_in_on(new_pc, token) == "Ann"


def test_a_restore_replacing_another_key_keeps_that_one_aside(old_pc, tmp_path):
    data, token = old_pc
    backup = tmp_path / "move.db"
    tc(data, "db", "backup", str(backup))
    new_pc = tmp_path / "new-pc"
    tc(new_pc, "accounts", "list")
    close_store()
    open_store(load_config(new_pc))
    pins.pin_hash(1, "0000")  # the new PC made a key of its own (a PIN set there, say)
    own = (new_pc / pins.SECRET_FILENAME).read_bytes()
    close_store()

    text = text_of(new_pc, "db", "restore", str(backup))
    assert f"Restored the kiosk PIN key from {pins.key_beside(backup)}" in text
    kept = next(new_pc.glob(f"{pins.SECRET_FILENAME}.before-restore-*"))
    assert kept.read_bytes() == own
    assert clock_in_on(new_pc, token) == "Ann"


def test_a_restore_without_the_key_says_pins_need_it_and_what_to_do(old_pc, tmp_path):
    data, _ = old_pc
    backup = tmp_path / "move.db"
    tc(data, "db", "backup", str(backup))
    pins.key_beside(backup).unlink()  # only the .db was copied to the new PC
    new_pc = tmp_path / "new-pc"
    tc(new_pc, "accounts", "list")

    text = text_of(new_pc, "db", "restore", str(backup))
    assert "The backup holds 1 kiosk PIN but no PIN key beside it" in text
    assert "Copy kiosk.secret from the old data folder" in text
    assert "set the PINs again" in text


@pytest.mark.parametrize("damage", ["too short", "a folder"])
def test_a_damaged_key_beside_the_backup_is_not_installed(old_pc, tmp_path, damage):
    data, token = old_pc
    backup = tmp_path / "move.db"
    tc(data, "db", "backup", str(backup))
    if damage == "too short":
        pins.key_beside(backup).write_bytes(b"short")
    else:  # the store is restored all the same: the restore must not end in an error
        pins.key_beside(backup).unlink()
        pins.key_beside(backup).mkdir()
    before = (data / pins.SECRET_FILENAME).read_bytes()
    close_store()

    restored = tc(data, "db", "restore", str(backup))
    assert restored["pin_key"] == "damaged"
    assert (data / pins.SECRET_FILENAME).read_bytes() == before  # this folder's key, untouched
    assert clock_in_on(data, token) == "Ann"


def test_a_restore_of_the_same_pc_s_backup_changes_no_key(old_pc, tmp_path):
    data, _ = old_pc
    backup = tmp_path / "today.db"
    tc(data, "db", "backup", str(backup))
    close_store()
    restored = tc(data, "db", "restore", str(backup))
    assert restored["pin_key"] == "same"
    assert list(data.glob(f"{pins.SECRET_FILENAME}.before-restore-*")) == []


def test_a_store_without_pins_has_no_key_to_carry(store, config, account, tmp_path):
    made = tc(config.data_dir, "db", "backup", str(tmp_path / "plain.db"))
    assert made["pin_key"] is None
    assert not pins.key_beside(tmp_path / "plain.db").exists()


def test_pruning_old_backups_deletes_their_keys_too(old_pc, tmp_path):
    data, _ = old_pc
    folder = tmp_path / "backups"
    folder.mkdir()
    old = folder / "tempclock-20260101-020000.db"
    tc(data, "db", "backup", str(old))
    assert pins.key_beside(old).exists()
    tc(data, "db", "backup", str(folder), "--keep", "1")
    assert not old.exists() and not pins.key_beside(old).exists()
    assert len(list(folder.glob("*.kiosk.secret"))) == 1


def test_the_desktop_process_hashes_with_the_restored_key_at_once(old_pc, tmp_path):
    """The desktop restores in its own process, whose kiosk has the old key in memory."""
    data, token = old_pc
    backup = tmp_path / "move.db"
    tc(data, "db", "backup", str(backup))
    new_pc = tmp_path / "new-pc"
    close_store()
    open_store(load_config(new_pc))
    pins.pin_hash(1, "0000")  # this process holds the new folder's own new key in memory
    close_store()
    from tempclock.api.services import backups

    restored = backups.restore(load_config(new_pc), backup)
    assert restored.pin_key == "restored"
    assert backups.pin_key_note(restored).startswith("Restored the kiosk PIN key")
    assert clock_in_on(new_pc, token) == "Ann"


def test_a_store_kept_outside_the_data_folder_gets_its_key_back_too(old_pc, tmp_path):
    data, token = old_pc
    backup = tmp_path / "move.db"
    tc(data, "db", "backup", str(backup))
    elsewhere = tmp_path / "disk2" / "agency.db"
    elsewhere.parent.mkdir()
    new_pc = tmp_path / "new-pc"  # not made yet: only the store's folder exists
    done = run_tempclock(["db", "restore", str(backup), "--json", "--data-dir", str(new_pc)],
                         env={**os.environ, "TEMPCLOCK_DATABASE_URL": f"sqlite:///{elsewhere}"})
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout)["pin_key"] == "restored"
    assert (new_pc / pins.SECRET_FILENAME).read_bytes() == (data / pins.SECRET_FILENAME).read_bytes()
    assert stat.S_IMODE(new_pc.stat().st_mode) == 0o700
