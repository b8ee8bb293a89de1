"""API keys: issued once, stored hashed, verified with a distinct answer for each failure."""

from __future__ import annotations

import datetime as dt

import pytest
from peewee import OperationalError

from tempclock.api.services import accounts, keys
from tempclock.api.services.errors import Forbidden, NotFound, Unauthenticated
from tempclock.api.store import close_store
from tempclock.api.store.models import ApiKey


def _code(excinfo) -> str:
    return excinfo.value.code


def test_issued_key_has_the_tempclock_format_with_a_crc32_checksum(account):
    issued = keys.issue_key(account.id, "Bullhorn ATS")
    key = issued.plaintext
    assert key.startswith("tc_live_") and len(key) == 48
    assert key[8:] == key[8:].lower() and all(c in "0123456789abcdef" for c in key[8:])
    keys.check_key_format(key)  # its CRC32 tail: pinned to a known answer below
    assert issued.key.prefix == key[:16]
    assert issued.key.status == "Active"


# CRC32 (IEEE, as zlib and gzip compute it) of the first 40 characters, worked out with
# `printf tc_live_0123...cdef | gzip -c | tail -c8 | od -t x4 -N4`: bc6dd57a.
KNOWN_KEY = "tc_live_0123456789abcdef0123456789abcdef" "bc6dd57a"


def test_a_fixed_key_with_its_known_crc32_tail_passes_the_format_check():
    keys.check_key_format(KNOWN_KEY)


@pytest.mark.parametrize("tail", ["bc6dd57b", "7ad56dbc", "00000000", "BC6DD57A"])
def test_a_fixed_key_with_any_other_tail_fails_its_checksum_or_format(tail):
    with pytest.raises(Unauthenticated) as excinfo:
        keys.check_key_format(KNOWN_KEY[:-8] + tail)
    assert _code(excinfo) == ("key_malformed" if tail.isupper() else "key_checksum_invalid")


@pytest.mark.sqlite_only  # reads the database file
def test_the_plaintext_key_is_stored_nowhere_in_the_database_file(account, config, store):
    issued = keys.issue_key(account.id, "Payroll export")
    keys.verify_key(issued.plaintext)
    store.execute_sql("PRAGMA wal_checkpoint(FULL)")
    blobs = b"".join(
        p.read_bytes() for p in config.data_dir.iterdir() if p.name.startswith("tempclock.db")
    )
    assert issued.plaintext.encode() not in blobs
    assert issued.plaintext[16:].encode() not in blobs  # not even the secret part
    assert keys.hash_key(issued.plaintext).encode() in blobs


def test_a_valid_key_is_verified_as_its_account(account):
    issued = keys.issue_key(account.id, "ATS", scopes=["workers:read"], rate_limit=120)
    identity = keys.verify_key(issued.plaintext, "workers:read")
    assert identity.account_id == account.id
    assert identity.key_id == issued.key.id
    assert identity.rate_limit == 120
    assert identity.scopes == {"workers:read"}


def test_a_malformed_key_is_refused_before_any_lookup(account):
    close_store()  # with no database at all, only a check before any lookup can answer
    for bad in ("", "tc_live_", "Bearer tc_live_" + "a" * 40, "tc_test_" + "a" * 40,
                "tc_live_" + "A" * 40, "tc_live_" + "a" * 39, "tc_live_" + "g" * 40):
        with pytest.raises(Unauthenticated) as excinfo:
            keys.verify_key(bad)
        assert _code(excinfo) == "key_malformed", bad


def test_a_mistyped_key_fails_its_checksum_before_any_lookup(account):
    key = keys.issue_key(account.id, "ATS").plaintext
    typo = key[:20] + ("0" if key[20] != "0" else "1") + key[21:]
    close_store()
    with pytest.raises(Unauthenticated) as excinfo:
        keys.verify_key(typo)
    assert _code(excinfo) == "key_checksum_invalid"


def test_a_well_formed_key_that_was_never_issued_is_unknown(account):
    key = keys.generate_key()
    with pytest.raises(Unauthenticated) as excinfo:
        keys.verify_key(key)
    assert _code(excinfo) == "key_unknown"


def test_a_revoked_key_is_refused_on_the_very_next_verify(account):
    issued = keys.issue_key(account.id, "ATS")
    keys.verify_key(issued.plaintext)
    revoked = keys.revoke_key(issued.key.id)
    assert revoked.status == "Revoked"
    with pytest.raises(Unauthenticated) as excinfo:
        keys.verify_key(issued.plaintext)
    assert _code(excinfo) == "key_revoked"


def test_a_refusal_of_a_real_key_still_says_whose_key_it_was(account):
    issued = keys.issue_key(account.id, "Old ATS", scopes=["workers:read"])
    with pytest.raises(Forbidden) as missing_scope:
        keys.verify_key(issued.plaintext, "clock:write")
    keys.revoke_key(issued.key.id)
    with pytest.raises(Unauthenticated) as revoked:
        keys.verify_key(issued.plaintext)
    for refusal in (missing_scope.value, revoked.value):
        assert (refusal.identity.key_id, refusal.identity.account_id) == (issued.key.id,
                                                                          account.id)
        assert refusal.identity.name == "Old ATS"
        assert "identity" not in refusal.details  # never part of what a client is told


def test_an_expired_key_is_refused(account):
    issued = keys.issue_key(account.id, "Temp", expires_on=dt.date.today() + dt.timedelta(days=1))
    ApiKey.update(expires_at=dt.datetime(2020, 1, 1)).where(ApiKey.id == issued.key.id).execute()
    with pytest.raises(Unauthenticated) as excinfo:
        keys.verify_key(issued.plaintext)
    assert _code(excinfo) == "key_expired"
    assert keys.get_key(issued.key.id).status == "Expired"


def test_a_key_expiring_on_a_date_works_through_that_whole_day(account):
    day = dt.date.today() + dt.timedelta(days=3)
    issued = keys.issue_key(account.id, "Temp", expires_on=day)
    assert issued.key.expires_at == dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                                        tzinfo=dt.UTC)


def test_a_key_of_an_account_without_api_access_is_forbidden(store):
    account = accounts.create_account("Closed Agency")  # API access is off by default
    issued = keys.issue_key(account.id, "ATS")
    with pytest.raises(Forbidden) as excinfo:
        keys.verify_key(issued.plaintext)
    assert _code(excinfo) == "api_disabled"
    accounts.set_api_enabled(account.id, True)
    assert keys.verify_key(issued.plaintext).account_id == account.id


def test_a_key_without_the_needed_scope_is_forbidden_and_told_which(account):
    issued = keys.issue_key(account.id, "Reader", scopes=["workers:read"])
    with pytest.raises(Forbidden) as excinfo:
        keys.verify_key(issued.plaintext, "clock:write")
    assert _code(excinfo) == "scope_missing"
    assert "clock:write" in excinfo.value.message


def test_a_key_with_no_scopes_has_full_access(account):
    issued = keys.issue_key(account.id, "Everything")
    for scope in keys.SCOPES:
        keys.verify_key(issued.plaintext, scope)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "scopes": ["workers:delete"]}, "scopes"),
        ({"name": "ok", "rate_limit": 0}, "rate_limit"),
        ({"name": "ok", "expires_on": dt.date(2020, 1, 1)}, "expires"),
    ],
)
def test_bad_issue_requests_are_refused_with_the_field_named(account, kwargs, field):
    from tempclock.api.services.errors import Invalid

    kwargs = dict(kwargs)  # the parameters are shared by the SQLite and PostgreSQL runs
    name = kwargs.pop("name")
    with pytest.raises(Invalid) as excinfo:
        keys.issue_key(account.id, name, **kwargs)
    assert excinfo.value.field == field


def test_listing_shows_prefix_status_and_use_but_never_the_key(account, other_account):
    first = keys.issue_key(account.id, "ATS")
    second = keys.issue_key(account.id, "Payroll", scopes=["timesheets:read"])
    keys.issue_key(other_account.id, "Theirs")
    keys.revoke_key(first.key.id)
    keys.verify_key(second.plaintext)
    keys.note_key_used(second.key.id)
    listed = keys.list_keys(account.id)
    assert [k.name for k in listed] == ["Payroll", "ATS"]
    assert [k.status for k in listed] == ["Active", "Revoked"]
    assert listed[0].last_used_at is not None
    assert listed[0].scopes == ["timesheets:read"]
    for k in listed:
        assert not hasattr(k, "plaintext")
        assert len(k.prefix) == 16


def test_last_used_is_remembered_in_memory_and_written_in_one_batch(account):
    issued = keys.issue_key(account.id, "ATS")
    keys.flush_key_usage()
    when = dt.datetime(2026, 5, 1, 12, 0)
    keys.note_key_used(issued.key.id, when)
    assert ApiKey.get_by_id(issued.key.id).last_used_at is None  # no write per request
    assert keys.flush_key_usage() == 1
    assert ApiKey.get_by_id(issued.key.id).last_used_at == when


def test_last_used_times_survive_a_failed_write_and_are_written_next_time(account, monkeypatch):
    issued = keys.issue_key(account.id, "ATS")
    keys.flush_key_usage()
    when = dt.datetime(2026, 5, 1, 12, 0)
    keys.note_key_used(issued.key.id, when)

    def locked():
        raise OperationalError("database is locked")

    monkeypatch.setattr(keys, "transaction", locked)
    with pytest.raises(OperationalError):
        keys.flush_key_usage()
    monkeypatch.undo()
    assert keys.flush_key_usage() == 1
    assert ApiKey.get_by_id(issued.key.id).last_used_at == when
    assert keys.flush_key_usage() == 0  # nothing new since


def test_revoking_another_accounts_key_is_not_found(account, other_account):
    theirs = keys.issue_key(other_account.id, "Theirs")
    with pytest.raises(NotFound):
        keys.revoke_key(theirs.key.id, account_id=account.id)
    assert keys.get_key(theirs.key.id).status == "Active"
