"""The log writer's one test a row (before redacting each field) never lets a key through:
a row written with it is the row written by redacting every field on its own."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tempclock.api.services import api_logs
from tempclock.api.services.api_logs import REDACTED, ApiLogEntry
from tempclock.api.services.keys import generate_key

_PIECES = st.sampled_from([
    "tc", "TC", "t", "c", "live", "LIVE", "test", "teſt", "lıve", "_", "-", " ", "+", "%",
    "%5f", "%74c", "=", "&", "key=", "token=", "0", "9", "a", "f", "F", "g", "/", "\n",
    "0123456789abcdef", "ABCDEF0123456789", "ｔｃ＿ｌｉｖｅ", "\x00", "é",
])
_TEXTS = st.lists(_PIECES, max_size=16).map("".join)


def _entry(key_name, path, query, client, user_agent, error_code) -> ApiLogEntry:
    return ApiLogEntry(
        created_at=dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC), account_id=1, key_id=2,
        key_name=key_name, key_prefix="tc_live_ab12cd", method="GET", path=path, query=query,
        status=200, duration_ms=1.5, client=client, user_agent=user_agent,
        request_id="0" * 32, error_code=error_code)


def _row_redacting_each_field(entry: ApiLogEntry) -> tuple[object, ...]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(api_logs, "_row_holds_no_key", lambda texts: False)
        return api_logs._row(entry, postgres=False)


@settings(max_examples=400, deadline=None)
@given(st.none() | _TEXTS, _TEXTS, _TEXTS, _TEXTS, _TEXTS, st.none() | _TEXTS)
@example("Bench", "/api/v1/workers", "id=200", "127.0.0.1", "", None)
@example("tc", "/live", "", "127.0.0.1", "", None)  # the pieces of a key in two fields
@example(None, "/x", "q=tc%5Flive%5Fab", "127.0.0.1", "", None)
@example(None, "/x", "token=1", "127.0.0.1", "", None)
@example(None, "/x", "", "127.0.0.1", "0123456789abcdef" * 2, None)
@example("Bench", "/x", "", "127.0.0.1", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", None)
@example("Bench", "/x", "", "127.0.0.1", "Mozilla/5.0 (X11) 0123456789abcdef0123456789ABCDEF", None)
def test_a_row_screened_whole_is_the_row_redacted_field_by_field(
        key_name, path, query, client, user_agent, error_code):
    entry = _entry(key_name, path, query, client, user_agent, error_code)
    assert api_logs._row(entry, postgres=False) == _row_redacting_each_field(entry)


_QUERY_PIECES = st.sampled_from([
    "key", "KEY", "Api_Key", "apikey", "token", "Access_Token", "accesstoken", "SECRET",
    "password", "PassWord", "auth", "AUTHORIZATION", "ke", "y", "tok", "=", "&", ";", "_",
    "id", "1", "a", "-", ".",
])


@settings(max_examples=500, deadline=None)  # as the other pre-screen checks: hundreds drawn
@given(st.lists(_QUERY_PIECES, max_size=10).map("".join))
@example("API_KEY=1")
@example("x=1;Token=2")
@example("ke=y")
def test_the_writers_quick_test_for_secret_parameters_agrees_with_the_pattern(query):
    assert api_logs._names_a_secret(query) == (api_logs._KEYISH_QUERY.search(query) is not None)


def test_a_key_in_any_field_of_an_ordinary_request_is_redacted():
    key = generate_key()
    for field in ("path", "query", "client", "user_agent", "key_name", "error_code"):
        values = {"key_name": "Bench", "path": "/api/v1/workers", "query": "id=2",
                  "client": "127.0.0.1", "user_agent": "httpx", "error_code": None}
        values[field] = f"q={key}" if field == "query" else f"x {key}"
        row = api_logs._row(_entry(**values), postgres=False)
        assert key not in repr(row), field
        assert REDACTED in repr(row) or field == "query", field


@pytest.mark.parametrize("count", [1, 127, 128, 300, 1000])
def test_every_entry_of_a_batch_of_any_size_is_stored_once_in_order(account, count):
    entries = [ApiLogEntry(
        created_at=dt.datetime(2026, 12, 3, 18, 0, tzinfo=dt.UTC), account_id=account.id,
        key_id=None, key_name=None, key_prefix=None, method="GET", path=f"/api/v1/workers/{n}",
        query=f"n={n}", status=200, duration_ms=float(n), client="127.0.0.1", user_agent="",
        request_id=f"{n:032x}", error_code=None) for n in range(count)]

    assert api_logs.write_logs(entries) == count

    stored = api_logs.list_logs(account_id=account.id, limit=api_logs.MAX_LIST)
    assert [(log.path, log.query, log.request_id) for log in reversed(stored)] == [
        (f"/api/v1/workers/{n}", f"n={n}", f"{n:032x}") for n in range(count)]
