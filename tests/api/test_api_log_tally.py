"""Refusals for being over a limit are kept as one counted row per client, key and minute,
and every statistic of the API logs counts the requests such a row stands for."""

from __future__ import annotations

import datetime as dt

import msgspec

from tempclock.api.services import api_logs, keys, log_stats
from tempclock.api.store import database, is_postgres
from tempclock.api.store.models import ApiLog as ApiLogRow

MINUTE = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=5)


def refusal(second: int, client: str = "10.0.0.7", key_id: int | None = None,
            account_id: int | None = None, minute: dt.datetime = MINUTE) -> api_logs.ApiLogEntry:
    return api_logs.ApiLogEntry(
        created_at=minute + dt.timedelta(seconds=second), account_id=account_id, key_id=key_id,
        key_name=None, key_prefix=None, method="GET", path="/api/v1/workers", query="",
        status=429, duration_ms=0.1, client=client, user_agent="bot", request_id=f"r{second}",
        error_code="rate_limited")


def _a_key(account_id: int) -> int:
    return keys.issue_key(account_id, "ATS").key.id


def test_refusals_of_one_client_in_one_minute_become_one_row_with_their_count(store):
    tally = api_logs.RefusalTally()
    for batch in range(10):  # as the writer's batches arrive
        tally.write([refusal(batch * 5 + n % 5) for n in range(100)])
    (row,) = api_logs.list_logs()
    assert row.count == 1000 and row.created_at == MINUTE and row.status == 429  # the first


def test_each_client_key_and_minute_has_a_row_of_its_own(store, account):
    tally = api_logs.RefusalTally()
    later = MINUTE + dt.timedelta(minutes=1)
    tally.write([refusal(1), refusal(2, client="10.0.0.8"), refusal(3, minute=later)])
    tally.write([refusal(4), refusal(5, minute=later)])
    counts = sorted((r.client, r.created_at >= later, r.count) for r in api_logs.list_logs())
    assert counts == [("10.0.0.7", False, 2), ("10.0.0.7", True, 2), ("10.0.0.8", False, 1)]


def test_a_row_that_went_away_is_written_again_and_no_other_row_counted_up(store):
    tally = api_logs.RefusalTally()
    tally.write([refusal(1)])
    ApiLogRow.delete().execute()
    if is_postgres():  # SQLite gives the ids of deleted rows out again by itself
        database.execute_sql("ALTER SEQUENCE api_log_id_seq RESTART WITH 1")
    api_logs.write_logs([msgspec.structs.replace(refusal(9, client="10.9.9.9"), status=401)])
    tally.write([refusal(2), refusal(3)])
    counts = {r.client: r.count for r in api_logs.list_logs()}
    assert counts == {"10.9.9.9": 1, "10.0.0.7": 2}


def test_refusals_of_known_and_unknown_keys_from_one_client_are_kept_apart(store, account):
    api_logs.RefusalTally().write([refusal(1), refusal(2, key_id=None),
                                   refusal(3, key_id=_a_key(account.id))])
    assert sorted(r.count for r in api_logs.list_logs()) == [1, 2]


def test_statistics_count_the_requests_an_aggregated_row_stands_for(store, account):
    api_logs.write_logs([msgspec.structs.replace(refusal(1, account_id=account.id), status=401,
                                                 error_code="key_revoked")])
    api_logs.RefusalTally().write([refusal(n, account_id=account.id) for n in range(2, 42)])
    since = MINUTE - dt.timedelta(minutes=1)
    (minute,) = log_stats.requests_per_minute(account.id, since)
    assert (minute.requests, minute.errors) == (41, 41)
    (traffic,) = log_stats.traffic_by_key(account.id, since)
    assert (traffic.requests, traffic.errors, traffic.auth_failures) == (41, 41, 1)
