"""The API logs panel's filters, through the services the desktop calls: each filter shows the
requests it names and no others, requests per minute honour their period and scope, and a
filter that makes no sense is refused with the field it is about."""

from __future__ import annotations

import datetime as dt

import pytest

from tempclock.api.services import api_logs, keys, log_stats
from tempclock.api.services.errors import Invalid

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def request(minutes_ago: int, status: int, *, account_id: int | None, key_id: int | None = None,
            path: str = "/api/v1/workers", tag: str = "") -> api_logs.ApiLogEntry:
    return api_logs.ApiLogEntry(
        created_at=NOW - dt.timedelta(minutes=minutes_ago), account_id=account_id, key_id=key_id,
        key_name=None, key_prefix=None, method="GET", path=path, query="", status=status,
        duration_ms=1.0, client="10.0.0.9", user_agent="ats",
        request_id=tag or f"{minutes_ago}-{status}-{path}", error_code=None)


@pytest.fixture
def traffic(account, other_account):
    """An hour of requests: the ATS key's, another key's, unattributed ones, another agency's."""
    ats = keys.issue_key(account.id, "ATS").key.id
    payroll = keys.issue_key(account.id, "Payroll").key.id
    api_logs.write_logs([
        request(50, 200, account_id=account.id, key_id=ats, tag="ats-ok-old"),
        request(5, 200, account_id=account.id, key_id=ats, tag="ats-ok"),
        request(4, 404, account_id=account.id, key_id=ats, path="/api/v1/shifts/9", tag="ats-404"),
        request(3, 500, account_id=account.id, key_id=payroll, tag="payroll-500"),
        request(2, 403, account_id=account.id, key_id=payroll, tag="payroll-403"),
        request(1, 401, account_id=None, tag="unknown-401"),
        request(1, 200, account_id=other_account.id, tag="rival-ok"),
    ])
    return {"ats": ats, "payroll": payroll}


def shown(account_id: int, **filters) -> list[str]:
    found = log_stats.browse_logs(account_id, log_stats.LogFilter(**filters))
    return [log.request_id for log in found]


def test_a_key_filter_shows_only_that_keys_requests_newest_first(account, traffic):
    assert shown(account.id, key_id=traffic["ats"]) == ["ats-404", "ats-ok", "ats-ok-old"]


def test_unattributed_requests_can_be_shown_alone_or_left_out(account, traffic):
    assert shown(account.id, unattributed=True) == ["unknown-401"]
    assert "unknown-401" not in shown(account.id, unattributed=False)
    assert "unknown-401" in shown(account.id)
    assert "rival-ok" not in shown(account.id)  # another agency's never


def test_a_status_class_shows_that_class_and_refusals_show_401_and_403(account, traffic):
    assert shown(account.id, status_class=4) == ["unknown-401", "payroll-403", "ats-404"]
    assert shown(account.id, status_class=5) == ["payroll-500"]
    assert shown(account.id, auth_failures=True) == ["unknown-401", "payroll-403"]


@pytest.mark.parametrize("status_class", [0, 6, 42])
def test_a_status_class_outside_1xx_to_5xx_is_refused(account, traffic, status_class):
    with pytest.raises(Invalid) as refused:
        shown(account.id, status_class=status_class)
    assert refused.value.field == "status_class"


def test_a_path_filter_matches_text_in_the_path_ignoring_surrounding_spaces(account, traffic):
    assert shown(account.id, path="  /shifts/ ") == ["ats-404"]


def test_since_and_until_bound_the_period_in_any_time_zone(account, traffic):
    warsaw = dt.timezone(dt.timedelta(hours=1))
    found = shown(account.id, since=(NOW - dt.timedelta(minutes=10)).astimezone(warsaw),
                  until=NOW - dt.timedelta(minutes=3))
    assert found == ["ats-404", "ats-ok"]


def test_a_live_view_fetches_only_requests_newer_than_those_it_shows(account, traffic):
    (newest,) = log_stats.browse_logs(account.id, limit=1)
    assert log_stats.browse_logs(account.id, newer_than_id=newest.id) == []
    api_logs.write_logs([request(0, 200, account_id=account.id, tag="just-now")])
    assert [log.request_id for log in
            log_stats.browse_logs(account.id, newer_than_id=newest.id)] == ["just-now"]
    assert log_stats.newest_log_id() > newest.id


@pytest.mark.parametrize("limit", [0, log_stats.MAX_PAGE + 1])
def test_a_page_size_out_of_range_is_refused(account, traffic, limit):
    with pytest.raises(Invalid) as refused:
        log_stats.browse_logs(account.id, limit=limit)
    assert refused.value.field == "limit"


def test_an_empty_log_has_no_newest_request(store):
    assert log_stats.newest_log_id() == 0


def test_requests_per_minute_stop_at_until_and_can_leave_unattributed_out(account, traffic):
    since = NOW - dt.timedelta(minutes=10)
    minutes = log_stats.requests_per_minute(account.id, since, NOW - dt.timedelta(minutes=2))
    assert [(m.minute, m.requests, m.errors) for m in minutes] == [
        (NOW - dt.timedelta(minutes=5), 1, 0), (NOW - dt.timedelta(minutes=4), 1, 1),
        (NOW - dt.timedelta(minutes=3), 1, 1)]
    own = log_stats.requests_per_minute(account.id, since, include_unattributed=False)
    assert sum(m.requests for m in own) == 4  # the unattributed 401 is left out
    everyone = log_stats.requests_per_minute(account.id, since)
    assert sum(m.requests for m in everyone) == 5


def test_traffic_by_key_counts_each_keys_requests_errors_and_refusals(account, traffic):
    found = log_stats.traffic_by_key(account.id, NOW - dt.timedelta(minutes=10))
    by_key = {t.key_id: (t.requests, t.errors, t.auth_failures) for t in found}
    assert by_key == {traffic["ats"]: (2, 1, 0), traffic["payroll"]: (2, 2, 1), None: (1, 1, 1)}
    assert found[-1].key_id is None  # unattributed last


def test_a_burst_of_refusals_names_the_key_or_the_address_worst_first(account, traffic):
    api_logs.write_logs(
        [request(0, 401, account_id=None, tag=f"guess-{n}") for n in range(12)]
        + [request(0, 403, account_id=account.id, key_id=traffic["payroll"], tag=f"scope-{n}")
           for n in range(10)])
    bursts = log_stats.auth_failure_bursts(account.id, now=NOW + dt.timedelta(seconds=30))
    assert [(b.key_id, b.client, b.failures, b.unknown_key) for b in bursts] == [
        (None, "10.0.0.9", 13, True), (traffic["payroll"], None, 11, False)]
    assert log_stats.auth_failure_bursts(account.id, threshold=14,
                                         now=NOW + dt.timedelta(seconds=30)) == []


def test_the_cli_log_listing_refuses_an_unknown_status_filter(account, traffic):
    with pytest.raises(Invalid) as refused:
        api_logs.list_logs(status="4x")
    assert refused.value.field == "status"
    with pytest.raises(Invalid):
        api_logs.list_logs(limit=0)


def test_a_log_listing_since_a_time_without_zone_takes_it_as_utc(account, traffic):
    since = (NOW - dt.timedelta(minutes=4)).replace(tzinfo=None)
    assert {log.request_id for log in api_logs.list_logs(account_id=account.id, since=since)} == {
        "ats-404", "payroll-500", "payroll-403"}


def test_writing_no_entries_writes_nothing(store):
    assert api_logs.write_logs([]) == 0
    assert api_logs.RefusalTally().write([]) == 0
    assert api_logs.list_logs() == []
