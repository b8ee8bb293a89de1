"""Remembered verifications stay exact: any change committed elsewhere is seen on the next check."""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest

from tempclock.api.services import accounts, keys
from tempclock.api.services.common import transaction
from tempclock.api.services.errors import DomainError
from tempclock.api.services.verified_keys import VerifiedKeys
from tempclock.api.store import database, signals


def elsewhere(action) -> None:
    """Run `action` on another thread, hence another connection (as the desktop or CLI would)."""
    thread = threading.Thread(target=lambda: (action(), database.close()))
    thread.start()
    thread.join()


def refusal(checker: VerifiedKeys, key: str) -> str:
    with pytest.raises(DomainError) as refused:
        checker.verify(key)
    return refused.value.code


def test_a_remembered_key_revoked_elsewhere_is_refused_next_time(account):
    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    assert checker.verify(issued.plaintext).key_id == issued.key.id
    assert checker.verify(issued.plaintext).key_id == issued.key.id  # remembered
    elsewhere(lambda: keys.revoke_key(issued.key.id))
    assert refusal(checker, issued.plaintext) == "key_revoked"


def test_a_remembered_key_of_an_account_switched_off_elsewhere_is_refused(account):
    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)
    elsewhere(lambda: accounts.set_api_enabled(account.id, False))
    assert refusal(checker, issued.plaintext) == "api_disabled"


def test_a_remembered_key_is_refused_once_it_expires_though_nothing_changed(account):
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    issued = keys.issue_key(account.id, "Short-lived", expires_at=expires)
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)
    time.sleep(max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    assert refusal(checker, issued.plaintext) == "key_expired"


def test_a_refused_key_stays_refused(account):
    issued = keys.issue_key(account.id, "ATS")
    elsewhere(lambda: keys.revoke_key(issued.key.id))
    checker = VerifiedKeys()
    assert refusal(checker, issued.plaintext) == "key_revoked"
    assert refusal(checker, issued.plaintext) == "key_revoked"
    assert refusal(checker, keys.generate_key()) == "key_unknown"
    assert refusal(checker, "tc_live_nope") == "key_malformed"


def test_a_refused_known_key_is_not_looked_up_again_until_something_changes(account,
                                                                             monkeypatch):
    issued = keys.issue_key(account.id, "ATS")
    elsewhere(lambda: accounts.set_api_enabled(account.id, False))
    checker = VerifiedKeys()
    full_checks = []
    real = keys.verify_key
    monkeypatch.setattr(keys, "verify_key", lambda key: full_checks.append(key) or real(key))
    refusals = [refusal(checker, issued.plaintext) for _ in range(100)]
    assert refusals == ["api_disabled"] * 100 and len(full_checks) == 1
    with pytest.raises(DomainError) as refused:
        checker.verify(issued.plaintext)
    assert refused.value.identity.key_id == issued.key.id  # still named in the logs
    elsewhere(lambda: accounts.set_api_enabled(account.id, True))
    assert checker.verify(issued.plaintext).key_id == issued.key.id
    assert len(full_checks) == 2


def test_unknown_keys_are_looked_up_every_time(account, monkeypatch):
    checker = VerifiedKeys()
    full_checks = []
    real = keys.verify_key
    monkeypatch.setattr(keys, "verify_key", lambda key: full_checks.append(key) or real(key))
    unknown = keys.generate_key()
    assert [refusal(checker, unknown) for _ in range(3)] == ["key_unknown"] * 3
    assert len(full_checks) == 3


def test_unrelated_writes_do_not_make_a_remembered_key_be_checked_again(account, monkeypatch):
    from tempclock.api.services import workers

    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)
    full_checks = []
    real = keys.verify_key
    monkeypatch.setattr(keys, "verify_key", lambda key: full_checks.append(key) or real(key))
    elsewhere(lambda: workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Busy", last_name="Writer")))  # the clock-ins of a busy morning, say
    assert checker.verify(issued.plaintext).key_id == issued.key.id
    assert full_checks == []
    elsewhere(lambda: keys.revoke_key(issued.key.id))
    assert refusal(checker, issued.plaintext) == "key_revoked"
    assert full_checks == [issued.plaintext]


@pytest.mark.sqlite_only  # the signal beside the store; PostgreSQL is asked every time
def test_a_revocation_whose_committer_died_before_signalling_is_refused_within_a_second(
        account, monkeypatch):
    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)
    # The committer dies between its commit and its signal beside the store.
    monkeypatch.setattr(signals, "announce", lambda db, name: None)
    elsewhere(lambda: keys.revoke_key(issued.key.id))
    time.sleep(signals.RECHECK_S + 0.05)
    assert refusal(checker, issued.plaintext) == "key_revoked"


def test_a_revocation_rolled_back_leaves_the_key_working(account):
    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)

    def revoke_then_fail() -> None:
        with pytest.raises(RuntimeError), transaction():
            keys.revoke_key(issued.key.id)
            raise RuntimeError("the admin's batch failed half way")

    elsewhere(revoke_then_fail)
    assert checker.verify(issued.plaintext).key_id == issued.key.id
    assert [k.status for k in keys.list_keys(account.id)] == ["Active"]


@pytest.mark.sqlite_only
def test_a_signal_file_deleted_under_a_running_server_still_lets_revocations_through(account):
    issued = keys.issue_key(account.id, "ATS")
    checker = VerifiedKeys()
    checker.verify(issued.plaintext)
    os.remove(signals.signal_path(database.obj, keys.KEY_SIGNAL))  # a tidy-minded admin
    elsewhere(lambda: keys.revoke_key(issued.key.id))  # signals into a new file
    time.sleep(signals.RECHECK_S + 0.05)
    assert refusal(checker, issued.plaintext) == "key_revoked"
    other = keys.issue_key(account.id, "CRM")
    checker.verify(other.plaintext)
    elsewhere(lambda: keys.revoke_key(other.key.id))  # the new file is watched from now on
    assert refusal(checker, other.plaintext) == "key_revoked"
