"""PINs, kiosk links and kiosk punches, through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import stat
from pathlib import Path

import pytest

from tempclock.api.services import kiosk, locations, pins, timesheets
from tempclock.api.services.errors import Conflict, DomainError, Invalid, NotFound
from tempclock.api.store import database
from tempclock.api.store.models import Event, KioskLink, TimeEntry, Worker, WorkerPin

BASE = "http://127.0.0.1:8787"


def token_of(link: kiosk.KioskLink) -> str:
    return link.url.rsplit("/", 1)[1]


@pytest.fixture
def token(account, site):
    return token_of(kiosk.create_link(account.id, site.id, BASE))


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value


def entries_of(worker_id: int) -> list[TimeEntry]:
    return list(TimeEntry.select().where(TimeEntry.worker == worker_id).order_by(TimeEntry.id))


# --- PINs -------------------------------------------------------------------------------


def test_a_pin_is_kept_only_as_a_keyed_hash_with_its_key_outside_the_database(
        account, worker, config):
    assert pins.set_pin(account.id, worker.id, "4821") == "4821"
    stored = WorkerPin.get(WorkerPin.worker == worker.id).pin_hash
    assert stored and "4821" not in stored and len(stored) == 64
    secret = config.data_dir / "kiosk.secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # The digits alone (without the secret) do not give the stored value.
    import hashlib
    assert stored not in {hashlib.sha256(f"{account.id}:4821".encode()).hexdigest(),
                          hashlib.sha256(b"4821").hexdigest()}
    dumped = " ".join(str(v) for table in ("worker", "worker_pin")
                      for row in database.execute_sql(f"SELECT * FROM {table}").fetchall()
                      for v in row)
    assert "4821" not in dumped
    assert pins.has_pin(account.id, worker.id)


def _first_pin_key(folder: str, barrier, answers) -> None:
    """One process's first use of the PIN key of `folder` (run in a forked child)."""
    pins.data_dir = lambda: Path(folder)
    pins._secrets.clear()
    barrier.wait()
    try:
        answers.put(pins._secret())
    except OSError as error:
        answers.put(str(error))


@pytest.mark.sqlite_only  # processes and files: the store plays no part
def test_processes_making_the_pin_key_at_once_all_get_the_one_key_none_a_damaged_one(
        tmp_path):
    # The serve process and its kiosk listener (or the desktop and the CLI) may both be the
    # first to need it: one read the file its maker had created and not yet written, and
    # called it damaged (a 500 and "restore it from a backup" on a fresh install).
    forked = multiprocessing.get_context("fork")
    for attempt in range(15):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        barrier, answers = forked.Barrier(4), forked.Queue()
        makers = [forked.Process(target=_first_pin_key, args=(str(folder), barrier, answers))
                  for _ in range(4)]
        for maker in makers:
            maker.start()
        keys = [answers.get(timeout=60) for _ in makers]
        for maker in makers:
            maker.join(60)
        assert all(isinstance(key, bytes) for key in keys), keys
        assert len(set(keys)) == 1 and keys[0] == (folder / "kiosk.secret").read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == ["kiosk.secret"]


def test_a_generated_pin_is_six_digits_and_works_at_the_kiosk(account, worker, token):
    pin = pins.set_pin(account.id, worker.id)
    assert len(pin) == 6 and pin.isdigit()
    assert kiosk.punch(token, pin, "clock_in").first_name == worker.first_name


def test_a_pin_another_worker_of_the_account_has_is_refused(account, site, make_worker):
    ann, bob = make_worker(account.id, "Ann"), make_worker(account.id, "Bob")
    pins.set_pin(account.id, ann.id, "1111")
    error = refusal(lambda: pins.set_pin(account.id, bob.id, "1111"))
    assert isinstance(error, Conflict) and error.code == "pin_taken"
    assert not pins.has_pin(account.id, bob.id)


def test_the_same_pin_in_another_account_is_allowed(account, other_account, make_worker):
    ann, rival = make_worker(account.id), make_worker(other_account.id)
    pins.set_pin(account.id, ann.id, "2222")
    assert pins.set_pin(other_account.id, rival.id, "2222") == "2222"


@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "١٢٣٤", " 1234", "", "12.4"])
def test_a_pin_that_is_not_4_to_8_digits_is_refused(account, worker, pin):
    error = refusal(lambda: pins.set_pin(account.id, worker.id, pin))
    assert isinstance(error, Invalid) and error.code == "invalid_pin"


def test_another_accounts_worker_cannot_be_given_a_pin(account, other_account, make_worker):
    rival = make_worker(other_account.id)
    assert isinstance(refusal(lambda: pins.set_pin(account.id, rival.id, "1234")), NotFound)


def test_a_cleared_pin_no_longer_clocks_anyone(account, worker, token):
    pins.set_pin(account.id, worker.id, "5555")
    pins.clear_pin(account.id, worker.id)
    assert not pins.has_pin(account.id, worker.id)
    assert refusal(lambda: kiosk.punch(token, "5555", "clock_in")).code == "wrong_pin"


# --- links ------------------------------------------------------------------------------


def test_a_link_carries_a_random_token_kept_only_hashed(account, site):
    link = kiosk.create_link(account.id, site.id, BASE + "/")
    assert link.url.startswith(f"{BASE}/kiosk/") and link.location_id == site.id
    token = token_of(link)
    assert len(token) == 48
    assert KioskLink.get().token_hash != token
    assert kiosk.link_info(account.id, site.id).created_at == link.created_at
    assert kiosk.site(token).name == site.name


def test_a_new_link_replaces_the_old_one_at_once(account, site):
    old = token_of(kiosk.create_link(account.id, site.id, BASE))
    new = token_of(kiosk.create_link(account.id, site.id, BASE))
    assert refusal(lambda: kiosk.site(old)).code == "kiosk_not_found"
    assert kiosk.site(new).name == site.name


def test_a_revoked_link_is_not_found_on_the_next_punch(account, worker, token, site):
    pins.set_pin(account.id, worker.id, "1234")
    kiosk.revoke_link(account.id, site.id)
    assert isinstance(refusal(lambda: kiosk.punch(token, "1234", "clock_in")), NotFound)
    assert kiosk.link_info(account.id, site.id) is None
    assert entries_of(worker.id) == []


def test_another_accounts_site_gets_no_link(account, other_account, make_location):
    rival_site = make_location(other_account.id, "Rival site")
    assert isinstance(refusal(lambda: kiosk.create_link(account.id, rival_site.id, BASE)),
                      NotFound)


# --- punches ----------------------------------------------------------------------------


def test_a_kiosk_punch_clocks_the_worker_in_at_that_site_as_source_kiosk(
        account, site, make_worker, token, make_location):
    elsewhere = make_location(account.id, "Elsewhere")
    worker = make_worker(account.id, "Zofia", location_id=elsewhere.id, preferred_language="pl")
    pins.set_pin(account.id, worker.id, "8080")
    result = kiosk.punch(token, "8080", "clock_in")
    assert (result.first_name, result.language, result.action, result.offline) == (
        "Zofia", "pl", "clock_in", False)
    (entry,) = entries_of(worker.id)
    assert entry.location_id == site.id and entry.source == "kiosk"
    local = result.at.astimezone(dt.UTC).replace(tzinfo=None)
    assert entry.clock_in == local
    assert len(result.local_time) == 5
    assert Event.select().where(Event.type == "clock_in").count() == 1


def test_breaks_and_clock_out_follow_the_clocking_rules(account, worker, token):
    pins.set_pin(account.id, worker.id, "9090")
    assert refusal(lambda: kiosk.punch(token, "9090", "clock_out")).code == "not_clocked_in"
    kiosk.punch(token, "9090", "clock_in")
    assert refusal(lambda: kiosk.punch(token, "9090", "clock_in")).code == "already_clocked_in"
    kiosk.punch(token, "9090", "break_start")
    kiosk.punch(token, "9090", "break_end")
    kiosk.punch(token, "9090", "clock_out")
    (row,) = entries_of(worker.id)
    entry = timesheets.get_entry(account.id, row.id)
    assert entry.clock_out is not None and len(entry.breaks) == 1


def test_an_unknown_action_is_refused(account, worker, token):
    pins.set_pin(account.id, worker.id, "9090")
    assert refusal(lambda: kiosk.punch(token, "9090", "in")).code == "unknown_action"


def test_five_wrong_pins_lock_the_kiosk_even_for_a_right_pin(account, worker, token):
    pins.set_pin(account.id, worker.id, "1234")
    for _ in range(4):
        assert refusal(lambda: kiosk.punch(token, "0000", "clock_in")).code == "wrong_pin"
    locked = refusal(lambda: kiosk.punch(token, "0000", "clock_in"))
    assert locked.code == "kiosk_locked" and 240 < locked.details["retry_after"] <= 300
    assert refusal(lambda: kiosk.punch(token, "1234", "clock_in")).code == "kiosk_locked"
    assert entries_of(worker.id) == []
    # Five minutes on, the kiosk opens again.
    KioskLink.update(locked_until=dt.datetime(2000, 1, 1)).execute()
    assert kiosk.punch(token, "1234", "clock_in").action == "clock_in"


def test_the_lock_is_per_kiosk(account, worker, token, make_location):
    other = token_of(kiosk.create_link(account.id, make_location(account.id, "B").id, BASE))
    pins.set_pin(account.id, worker.id, "1234")
    for _ in range(5):
        refusal(lambda: kiosk.punch(token, "0000", "clock_in"))
    assert kiosk.punch(other, "1234", "clock_in").first_name == worker.first_name


def test_another_accounts_workers_pin_is_a_wrong_pin(account, other_account, make_worker,
                                                     token):
    rival = make_worker(other_account.id)
    pins.set_pin(other_account.id, rival.id, "7777")
    assert refusal(lambda: kiosk.punch(token, "7777", "clock_in")).code == "wrong_pin"
    assert entries_of(rival.id) == []


def test_a_geofence_that_refuses_refuses_a_kiosk_punch_from_outside(
        account, make_location, make_worker):
    fenced = make_location(account.id, "Fenced", settings=locations.LocationSettings(
        geofence_mode="block"))
    token = token_of(kiosk.create_link(account.id, fenced.id, BASE))
    worker = make_worker(account.id)
    pins.set_pin(account.id, worker.id, "3131")
    assert kiosk.site(token).geofence == "refuse"
    error = refusal(lambda: kiosk.punch(token, "3131", "clock_in", latitude=51.5,
                                        longitude=-0.12, accuracy_m=10))
    assert error.code == "geofence_refused"
    assert Event.select().where(Event.type == "clock.geofence_refused").count() == 1
    inside = kiosk.punch(token, "3131", "clock_in", latitude=fenced.latitude,
                         longitude=fenced.longitude, accuracy_m=10)
    assert inside.action == "clock_in"


# --- queued (offline) punches -------------------------------------------------------------


def test_a_queued_punch_is_applied_once_at_its_device_time(account, worker, token):
    pins.set_pin(account.id, worker.id, "4444")
    made = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    first = kiosk.punch(token, "4444", "clock_in", device_time=made, idempotency_key="k-1")
    again = kiosk.punch(token, "4444", "clock_in", device_time=made, idempotency_key="k-1")
    assert first == again and first.offline
    (entry,) = entries_of(worker.id)
    assert entry.source == "kiosk_offline" and entry.clock_in == made.replace(tzinfo=None)
    assert Event.select().where(Event.type == "clock_in").count() == 1


def test_a_queued_punch_beyond_the_backdating_window_is_refused_and_listed(
        account, worker, token, site):
    pins.set_pin(account.id, worker.id, "4444")
    made = dt.datetime.now(dt.UTC) - dt.timedelta(hours=13)
    for _ in range(2):
        error = refusal(lambda: kiosk.punch(token, "4444", "clock_in", device_time=made,
                                            idempotency_key="old-1"))
        assert error.code == "outside_backdating_window"
        assert error.kind.value == "unprocessable"
    assert entries_of(worker.id) == []
    (listed,) = kiosk.refused_punches(account.id)
    assert (listed.worker_id, listed.location_id, listed.action, listed.code) == (
        worker.id, site.id, "clock_in", "outside_backdating_window")


def test_a_queued_punch_needs_an_offset_and_a_key(account, worker, token):
    pins.set_pin(account.id, worker.id, "4444")
    naive = dt.datetime.now() - dt.timedelta(minutes=5)
    assert refusal(lambda: kiosk.punch(token, "4444", "clock_in", device_time=naive,
                                       idempotency_key="x")).code == "invalid"
    aware = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert refusal(lambda: kiosk.punch(token, "4444", "clock_in",
                                       device_time=aware)).code == "missing_field"


def test_another_workers_idempotency_key_is_refused_not_replayed(account, make_worker, token):
    ann, bob = make_worker(account.id, "Ann"), make_worker(account.id, "Bob")
    pins.set_pin(account.id, ann.id, "1212")
    pins.set_pin(account.id, bob.id, "3434")
    made = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    kiosk.punch(token, "1212", "clock_in", device_time=made, idempotency_key="same")
    error = refusal(lambda: kiosk.punch(token, "3434", "clock_in", device_time=made,
                                        idempotency_key="same"))
    assert error.code == "idempotency_key_reused" and "Ann" not in error.message
    assert entries_of(bob.id) == []


def test_setting_a_pin_changes_nothing_an_integrator_sees(account, worker):
    before = Worker.get_by_id(worker.id).updated_at
    pins.set_pin(account.id, worker.id, "6060")
    assert Worker.get_by_id(worker.id).updated_at == before
    assert Event.select().where(Event.type == "worker_updated").count() == 0


def test_a_refused_punch_from_a_tablet_with_a_wrong_clock_is_listed_at_the_host_s_time(
        account, worker, token):
    """The tablet's clock is two hours fast: the admin's list says when the punch was really
    made (and what the tablet said), not the tablet's time alone."""
    pins.set_pin(account.id, worker.id, "4444")
    now = dt.datetime.now(dt.UTC)
    fast = dt.timedelta(hours=2)
    made = now - dt.timedelta(hours=13)  # beyond the 12 h backdating window: refused
    error = refusal(lambda: kiosk.punch(token, "4444", "clock_in", device_time=made + fast,
                                        device_now=now + fast, idempotency_key="fast-1"))
    assert error.code == "outside_backdating_window"
    (listed,) = kiosk.refused_punches(account.id)
    assert abs(listed.made_at - made) < dt.timedelta(seconds=5)
    assert abs(listed.device_time - (made + fast)) < dt.timedelta(seconds=1)
