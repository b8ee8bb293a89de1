"""Browsing API logs in another order than newest first: the store sorts every matching
request (the account's and the unattributed ones together), and paging on continues the order
without skipping or repeating a request, even where many share a sort value."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import api_logs, log_stats
from tempclock.api.services.errors import Invalid


def _log(n: int, account_id: int | None, now: dt.datetime) -> api_logs.ApiLogEntry:
    return api_logs.ApiLogEntry(
        created_at=now - dt.timedelta(seconds=n), account_id=account_id, key_id=None,
        key_name=None, key_prefix=None, method="GET", path=f"/api/v1/workers/{n}", query="",
        status=(200, 404, 401, 500)[n % 4], duration_ms=float((n * 37) % 50),
        client="10.0.0.1", user_agent="t", request_id=f"r{n}", error_code=None)


def _every_page(account_id: int, order: log_stats.LogOrder, page: int) -> list:
    shown: list = []
    while True:
        before = log_stats.cursor_of(shown[-1], order) if shown else None
        found = log_stats.browse_logs(account_id, before=before, limit=page, order=order)
        shown += found
        if len(found) < page:
            return shown


@pytest.mark.parametrize(("by", "field"), [("status", "status"), ("duration", "duration_ms"),
                                           ("count", "count"), ("time", "created_at")])
@pytest.mark.parametrize("descending", [False, True])
def test_every_request_is_listed_once_in_the_order_asked_across_pages(account, by, field,
                                                                      descending):
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Half the account's, half unattributed: two streams the service merges.
    api_logs.write_logs([_log(n, account.id if n % 2 else None, now) for n in range(230)])
    order = log_stats.LogOrder(by=by, descending=descending)
    shown = _every_page(account.id, order, page=40)
    assert sorted(r.id for r in shown) == sorted({r.id for r in shown})
    assert len(shown) == 230
    keys = [(getattr(r, field), r.id) for r in shown]
    assert keys == sorted(keys, reverse=descending)


def test_logs_cannot_be_sorted_by_an_unknown_column(account):
    with pytest.raises(Invalid):
        log_stats.browse_logs(account.id, order=log_stats.LogOrder(by="user_agent"))
