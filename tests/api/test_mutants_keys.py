"""API keys' promises the mutation run (bench/mutation.py) found unchecked: the defaults and
limits an admin issues keys with, the exact expiry of "expires on", scope changes, the
generation that tells servers a key changed, and when `last used` moves."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from migrated_store import config, migrated_data_dir  # noqa: F401 - a migrated store, copied

from tempclock.api.services import keys
from tempclock.api.services.errors import Forbidden, Invalid, NotFound, Unauthenticated
from tempclock.api.store.models import ApiKey as ApiKeyRow
from tempclock.api.store.models import Event


def audit(account_id: int) -> list[tuple[str, dict]]:
    import json

    return [(e.type, json.loads(e.data))
            for e in Event.select().where(Event.account == account_id).order_by(Event.id)
            if e.type.startswith("api_key")]


def test_a_key_allows_60_requests_a_minute_unless_told_otherwise(account):
    assert keys.issue_key(account.id, "ATS").key.rate_limit == 60


@pytest.mark.parametrize(("limit", "allowed"), [(0, False), (1, True), (1_000_000, True),
                                                (1_000_001, False), (True, True)])
def test_the_rate_limit_is_one_to_a_million_requests_a_minute(account, limit, allowed):
    if allowed:
        assert keys.issue_key(account.id, "ATS", rate_limit=limit).key.rate_limit == limit
    else:
        with pytest.raises(Invalid, match="between 1 and 1000000") as refused:
            keys.issue_key(account.id, "ATS", rate_limit=limit)
        assert refused.value.field == "rate_limit"


def test_a_listing_shows_the_prefix_and_8_characters_of_the_key(account):
    issued = keys.issue_key(account.id, "ATS")
    assert issued.key.prefix == issued.plaintext[:16]
    assert issued.key.display_prefix == issued.plaintext[:16] + "..."


def test_expiring_on_a_date_means_until_the_next_utc_midnight(account):
    day = dt.date.today() + dt.timedelta(days=3)
    issued = keys.issue_key(account.id, "ATS", expires_on=day)
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    assert issued.key.expires_at == midnight and issued.key.status == "Active"


def test_a_key_expiring_on_the_calendars_last_day_never_expires(account):
    """An admin's "never" (9999-12-31, as `keys create --expires` takes it): usable through
    the last representable moment, not refused for lack of a day after it."""
    issued = keys.issue_key(account.id, "ATS", expires_on=dt.date.max)
    assert issued.key.expires_at == dt.datetime.max.replace(tzinfo=dt.UTC)
    assert keys.get_key(issued.key.id).status == "Active"
    assert keys.verify_key(issued.plaintext).key_id == issued.key.id


def test_an_expiry_time_is_read_in_its_offset_or_as_utc(account):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).replace(microsecond=0)
    plus_two = soon.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert keys.issue_key(account.id, "A", expires_at=plus_two).key.expires_at == soon
    naive = keys.issue_key(account.id, "B", expires_at=soon.replace(tzinfo=None))
    assert naive.key.expires_at == soon


def test_an_expiry_in_the_past_or_now_is_refused(account):
    with pytest.raises(Invalid) as refused:
        keys.issue_key(account.id, "ATS",
                       expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert refused.value.field == "expires"


def test_a_key_past_its_expiry_is_listed_expired_and_refused(account):
    issued = keys.issue_key(account.id, "ATS",
                            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    ApiKeyRow.update(expires_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)).where(
        ApiKeyRow.id == issued.key.id).execute()
    assert keys.get_key(issued.key.id).status == "Expired"
    with pytest.raises(Unauthenticated) as refused:
        keys.verify_key(issued.plaintext)
    assert refused.value.code == "key_expired"


def test_a_key_whose_expiry_is_ahead_is_active_and_accepted(account):
    issued = keys.issue_key(account.id, "ATS",
                            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    assert keys.get_key(issued.key.id).status == "Active"
    assert keys.verify_key(issued.plaintext).key_id == issued.key.id


def test_scopes_are_trimmed_and_kept_once_in_the_order_given(account):
    issued = keys.issue_key(account.id, "ATS",
                            scopes=[" workers:read", "clock:write ", "workers:read"])
    assert issued.key.scopes == ["workers:read", "clock:write"]
    identity = keys.verify_key(issued.plaintext, "clock:write")
    assert identity.scopes == frozenset({"workers:read", "clock:write"})
    with pytest.raises(Forbidden) as refused:
        keys.verify_key(issued.plaintext, "timesheets:read")
    assert refused.value.code == "scope_missing"
    assert refused.value.identity.key_id == issued.key.id


def test_adding_a_scope_lets_the_key_use_it_and_is_audited_once(account):
    issued = keys.issue_key(account.id, "ATS", scopes=["workers:read"])
    generation = keys.key_generation()
    record = keys.add_scope(issued.key.id, "clock:write", account_id=account.id)
    assert record.scopes == ["workers:read", "clock:write"]
    assert keys.key_generation() == generation + 1
    keys.verify_key(issued.plaintext, "clock:write")
    assert keys.add_scope(issued.key.id, "clock:write").scopes == ["workers:read",
                                                                   "clock:write"]
    updated = [payload for kind, payload in audit(account.id) if kind == "api_key_updated"]
    assert len(updated) == 1 and updated[0]["added_scope"] == "clock:write"
    assert keys.key_generation() == generation + 1


def test_a_full_access_key_is_left_alone_when_a_scope_is_added(account):
    issued = keys.issue_key(account.id, "ATS")
    generation = keys.key_generation()
    assert keys.add_scope(issued.key.id, "clock:write").scopes == []
    assert keys.key_generation() == generation
    with pytest.raises(Invalid):
        keys.add_scope(issued.key.id, "clock:delete")


def test_revoking_moves_the_generation_once_and_is_audited_once(account):
    issued = keys.issue_key(account.id, "ATS")
    generation = keys.key_generation()
    first = keys.revoke_key(issued.key.id)
    again = keys.revoke_key(issued.key.id)
    assert first.status == again.status == "Revoked"
    assert first.revoked_at == again.revoked_at is not None
    assert keys.key_generation() == generation + 1
    kinds = [kind for kind, _ in audit(account.id)]
    assert kinds == ["api_key_issued", "api_key_revoked"]
    assert audit(account.id)[1][1]["status"] == "Revoked"


def test_keys_are_found_only_in_their_own_account(account, other_account):
    theirs = keys.issue_key(other_account.id, "Theirs")
    assert keys.get_key(theirs.key.id).name == "Theirs"
    with pytest.raises(NotFound):
        keys.get_key(theirs.key.id, account.id)
    with pytest.raises(NotFound):
        keys.get_key(10_000)
    assert [k.name for k in keys.list_keys(account.id)] == []
    assert [k.name for k in keys.list_keys()] == ["Theirs"]


def test_last_used_shows_the_latest_of_memory_and_store(account):
    issued = keys.issue_key(account.id, "ATS")
    keys.flush_key_usage()
    earlier, later = dt.datetime(2026, 5, 1, 12, 0), dt.datetime(2026, 5, 1, 13, 0)
    keys.note_key_used(issued.key.id, later)
    keys.flush_key_usage()
    keys.note_key_used(issued.key.id, earlier)  # a request noted late, from a slower worker
    shown = keys.get_key(issued.key.id).last_used_at
    assert shown == later.replace(tzinfo=dt.UTC)
    keys.flush_key_usage()
    assert ApiKeyRow.get_by_id(issued.key.id).last_used_at == later  # never moved back


def test_last_used_in_memory_shows_before_it_is_written(account):
    issued = keys.issue_key(account.id, "ATS")
    keys.flush_key_usage()  # the first flush on a store forgets what an older store noted
    when = dt.datetime(2026, 5, 1, 12, 0)
    keys.note_key_used(issued.key.id, when)
    assert keys.get_key(issued.key.id).last_used_at == when.replace(tzinfo=dt.UTC)
    assert keys.flush_key_usage() == 1
    assert keys.flush_key_usage() == 0
    keys.note_key_used(issued.key.id, when + dt.timedelta(seconds=1))
    assert keys.flush_key_usage() == 1


def test_a_verified_key_is_noted_as_used_now(account):
    issued = keys.issue_key(account.id, "ATS")
    keys.flush_key_usage()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    keys.note_key_used(issued.key.id)
    keys.flush_key_usage()
    used = keys.get_key(issued.key.id).last_used_at
    assert before <= used <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


def test_an_expiry_at_this_very_instant_is_refused(account):
    instant = dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
    with time_machine.travel(instant, tick=False), pytest.raises(Invalid):
        keys.issue_key(account.id, "ATS", expires_at=instant)


def test_a_key_is_refused_from_the_very_instant_it_expires(account):
    instant = dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
    with time_machine.travel(instant - dt.timedelta(hours=1), tick=False):
        issued = keys.issue_key(account.id, "ATS", expires_at=instant)
    with time_machine.travel(instant, tick=False):
        with pytest.raises(Unauthenticated) as refused:
            keys.verify_key(issued.plaintext)
        assert refused.value.code == "key_expired"
        assert keys.get_key(issued.key.id).status == "Expired"


def test_a_verified_identity_cannot_be_altered_by_whoever_holds_it(account):
    identity = keys.verify_key(keys.issue_key(account.id, "ATS", scopes=["workers:read"])
                               .plaintext)
    with pytest.raises(AttributeError):
        identity.scopes = frozenset()  # a handler widening what a remembered key may do
    assert identity.scopes == frozenset({"workers:read"})


def test_a_key_name_may_be_100_characters_long(account):
    assert keys.issue_key(account.id, "x" * 100).key.name == "x" * 100
