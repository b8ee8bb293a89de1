"""A logged request's time is stored as it happened, to the microsecond, whatever its zone,
on every backend (the log writer formats it itself on SQLite)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from tempclock.api.services import api_logs
from tempclock.api.store import database, is_postgres


def _entry(account_id: int, created_at: dt.datetime, request_id: str) -> api_logs.ApiLogEntry:
    return api_logs.ApiLogEntry(
        created_at=created_at, account_id=account_id, key_id=None, key_name=None,
        key_prefix=None, method="GET", path="/api/v1/workers", query="", status=200,
        duration_ms=1.5, client="127.0.0.1", user_agent="", request_id=request_id,
        error_code=None)


def test_logged_times_read_back_exactly_with_or_without_a_fraction_of_a_second(account):
    warsaw = dt.timezone(dt.timedelta(hours=1))
    times = {
        "fraction": dt.datetime(2026, 12, 3, 16, 5, 7, 123456, tzinfo=dt.UTC),
        "whole": dt.datetime(2026, 12, 3, 16, 5, 8, tzinfo=dt.UTC),
        "zoned": dt.datetime(2026, 12, 3, 17, 5, 9, 5, tzinfo=warsaw),
    }
    api_logs.write_logs([_entry(account.id, when, name) for name, when in times.items()])

    logged = {log.request_id: log.created_at for log in api_logs.list_logs(account_id=account.id)}

    assert logged == {name: when.astimezone(dt.UTC) for name, when in times.items()}


def test_on_sqlite_the_stored_text_is_what_the_driver_itself_would_store(account):
    when = dt.datetime(2026, 12, 3, 16, 5, 7, 123456, tzinfo=dt.UTC)
    api_logs.write_logs([_entry(account.id, when, "r1")])
    if is_postgres():
        pytest.skip("PostgreSQL's driver binds the datetime itself")
    stored = database.execute_sql("SELECT created_at FROM api_log WHERE request_id = 'r1'")
    adapted = sqlite3.adapters[(dt.datetime, sqlite3.PrepareProtocol)](when.replace(tzinfo=None))
    assert stored.fetchone()[0] == adapted


def test_each_row_of_a_batch_stores_its_own_time_when_rows_share_a_second_or_its_clock_face(
        account):
    # The writer remembers the text of the last second it formatted: rows of the same
    # second, of the next, and of the same hh:mm:ss on another day or year all differ.
    base = dt.datetime(2026, 12, 3, 16, 5, 7, tzinfo=dt.UTC)
    times = [
        base.replace(microsecond=1), base.replace(microsecond=999999), base,
        base + dt.timedelta(seconds=1), base + dt.timedelta(days=1),
        base.replace(year=2027), base.replace(month=1), base.replace(hour=17),
        base.replace(minute=6), base.replace(microsecond=10), base.replace(year=999),
        (base + dt.timedelta(microseconds=500)).astimezone(dt.timezone(dt.timedelta(hours=-5))),
    ]
    api_logs.write_logs([_entry(account.id, when, f"t{i}") for i, when in enumerate(times)])

    logged = {log.request_id: log.created_at for log in api_logs.list_logs(account_id=account.id)}
    assert logged == {f"t{i}": when.astimezone(dt.UTC) for i, when in enumerate(times)}
    if not is_postgres():
        adapt = sqlite3.adapters[(dt.datetime, sqlite3.PrepareProtocol)]
        stored = dict(database.execute_sql("SELECT request_id, created_at FROM api_log"))
        assert stored == {f"t{i}": adapt(when.astimezone(dt.UTC).replace(tzinfo=None))
                          for i, when in enumerate(times)}
