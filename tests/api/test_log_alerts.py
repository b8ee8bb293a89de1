"""The API-logs alerts tell a misconfigured integration from a stolen key: each names what
happened and the one action that fixes it (grant the scope, issue a replacement, revoke)."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from tempclock.api.http.app import scope_needed
from tempclock.api.services import events, keys, log_alerts
from tempclock.api.store.models import ApiKey as ApiKeyRow
from tempclock.api.store.models import ApiLog as ApiLogRow
from tempclock.api.store.models import Event as EventRow

NOW = dt.datetime(2026, 12, 3, 14, 0)  # naive UTC, as stored: 14:00 in London
LONDON = zoneinfo.ZoneInfo("Europe/London")
_ids = itertools.count(1)


def logged(key: keys.ApiKey | None, at: dt.datetime, *, status: int = 200, count: int = 1,
           client: str = "10.0.0.5", agent: str = "BullhornSync/2.1", path: str = "/api/v1/workers",
           method: str = "GET", error_code: str | None = None, prefix: str | None = None,
           times: int = 1) -> None:
    for _ in range(times):
        ApiLogRow.create(
            account=key.account_id if key else None, key=key.id if key else None,
            key_name=key.name if key else None, key_prefix=key.prefix if key else prefix,
            method=method, path=path, status=status, duration_ms=1.0, client=client,
            user_agent=agent, request_id=f"r{next(_ids)}", error_code=error_code,
            created_at=at, count=count)


def alerts(account) -> list[log_alerts.Alert]:
    return log_alerts.log_alerts(account.id, scope_of=scope_needed, now=NOW, local_tz=LONDON)


def a_key(account, name: str = "Payroll export", **options) -> keys.ApiKey:
    return keys.issue_key(account.id, name, **options).key


def a_regular_key(account, name: str = "Bullhorn ATS") -> keys.ApiKey:
    """A key with a month of daytime history from its usual address and program."""
    key = a_key(account, name)
    for day in range(1, 30):
        logged(key, NOW - dt.timedelta(days=day), times=2)
    return key


def test_a_missing_scope_asks_to_grant_that_scope_and_never_says_compromised(account):
    key = a_key(account, scopes=["workers:read"])
    for n in range(12):
        logged(key, NOW - dt.timedelta(minutes=2, seconds=n), status=403,
               path=f"/api/v1/timesheets{'.php' if n % 2 else ''}", error_code="scope_missing")

    (alert,) = alerts(account)
    assert (alert.kind, alert.scope, alert.count, alert.key_id) == (
        "scope_missing", "timesheets:read", 12, key.id)
    assert alert.action == log_alerts.GRANT_SCOPE
    assert alert.action_label == "Grant “Read time entries”"
    assert "not allowed to read time entries" in alert.headline
    assert not alert.compromise
    assert "compromis" not in f"{alert.headline} {alert.detail}".lower()


def test_granting_the_missing_scope_is_audited_and_ends_the_alert(account):
    key = a_key(account, scopes=["workers:read"])
    logged(key, NOW - dt.timedelta(minutes=1), status=403, path="/api/v1/clock",
           method="POST", error_code="scope_missing")
    (alert,) = alerts(account)
    assert alert.scope == "clock:write" and alert.action_label == "Grant “Clock in/out”"

    granted = keys.add_scope(key.id, "clock:write", account.id)

    assert granted.scopes == ["workers:read", "clock:write"]
    assert alerts(account) == []
    audit = EventRow.select().where(EventRow.type == "api_key_updated").get()
    assert "clock:write" in audit.data and "key_hash" not in audit.data
    assert events.list_events(account.id).data == []  # an admin change, not agency data


def test_a_revoked_key_still_in_use_names_the_integration_to_update(account):
    key = a_key(account)
    keys.revoke_key(key.id, account.id)
    logged(key, NOW - dt.timedelta(hours=3), status=401, error_code="key_revoked", times=3,
           client="192.168.1.40", agent="PayrollBridge/1.0")

    (alert,) = alerts(account)
    assert (alert.kind, alert.count, alert.key_id) == ("stale_key", 3, key.id)
    assert (alert.client, alert.user_agent) == ("192.168.1.40", "PayrollBridge/1.0")
    assert "still uses the revoked key “Payroll export”" in alert.headline
    assert "192.168.1.40" in alert.detail and "PayrollBridge/1.0" in alert.detail
    assert alert.action == log_alerts.REPLACE_KEY
    assert alert.action_label == "Issue a replacement key…"


def test_an_expired_key_still_in_use_asks_for_a_replacement_too(account):
    key = a_key(account)
    ApiKeyRow.update(expires_at=NOW - dt.timedelta(days=1)).where(ApiKeyRow.id == key.id).execute()
    logged(key, NOW - dt.timedelta(minutes=30), status=401, error_code="key_expired")
    (alert,) = alerts(account)
    assert alert.kind == "stale_key" and "expired key" in alert.headline


def test_many_wrong_keys_starting_like_one_of_ours_is_guessing_and_asks_to_revoke(account):
    key = a_regular_key(account)
    logged(None, NOW - dt.timedelta(minutes=1), status=401, error_code="key_unknown",
           prefix=key.prefix, client="203.0.113.9", times=11)

    (alert,) = alerts(account)
    assert (alert.kind, alert.key_id, alert.count) == ("guessing", key.id, 11)
    assert alert.compromise and alert.action == log_alerts.REVOKE_KEY
    assert alert.action_label == "Revoke key…"
    assert key.prefix in alert.detail


def test_a_key_used_from_a_new_address_asks_to_revoke(account):
    key = a_regular_key(account)
    logged(key, NOW - dt.timedelta(minutes=10), client="198.51.100.23")

    (alert,) = alerts(account)
    assert (alert.kind, alert.client, alert.action) == (
        "new_client", "198.51.100.23", log_alerts.REVOKE_KEY)
    assert "new address, 198.51.100.23" in alert.headline


def test_a_key_used_by_a_new_program_asks_to_revoke(account):
    key = a_regular_key(account)
    logged(key, NOW - dt.timedelta(minutes=10), agent="python-requests/2.31")

    (alert,) = alerts(account)
    assert (alert.kind, alert.user_agent) == ("new_user_agent", "python-requests/2.31")
    assert "python-requests/2.31" in alert.detail and alert.action == log_alerts.REVOKE_KEY


def test_a_burst_in_the_middle_of_the_night_from_a_daytime_key_asks_to_revoke(account):
    key = a_regular_key(account)
    night = dt.datetime(2026, 12, 3, 3, 30)  # 03:30 in London
    logged(key, night, times=12)

    (alert,) = log_alerts.log_alerts(account.id, scope_of=scope_needed,
                                     now=night + dt.timedelta(minutes=5), local_tz=LONDON)
    assert (alert.kind, alert.count, alert.action) == ("odd_hours", 12, log_alerts.REVOKE_KEY)
    assert "00:00 and 05:00" in alert.detail


def test_a_key_that_always_works_at_night_raises_nothing_at_night(account):
    key = a_regular_key(account)
    night = dt.datetime(2026, 12, 3, 3, 30)
    logged(key, night - dt.timedelta(days=1), times=12)  # its nightly run
    logged(key, night, times=12)
    assert log_alerts.log_alerts(account.id, scope_of=scope_needed,
                                 now=night + dt.timedelta(minutes=5), local_tz=LONDON) == []


def test_a_key_doing_what_it_always_does_raises_nothing(account):
    key = a_regular_key(account)
    logged(key, NOW - dt.timedelta(minutes=5), times=20)
    a_key(account, "Brand new")  # a key without history is never "new" anywhere
    assert alerts(account) == []


def test_the_scope_a_request_needed_is_read_from_the_routes():
    assert scope_needed("GET", "/api/v1/timesheets") == "timesheets:read"
    assert scope_needed("POST", "/api/v1/clock.php") == "clock:write"
    assert scope_needed("PATCH", "/api/v1/workers/12") == "workers:write"
    assert scope_needed("GET", "/api/v1/no-such-thing") is None


def test_every_scope_and_subscribable_event_has_a_name_for_people():
    from tempclock.api.services.names import EVENT_NAMES, SCOPE_NAMES, SUBSCRIBABLE_EVENTS
    from tempclock.api.services.webhooks import EVENTS, OPT_IN_EVENTS

    assert set(SCOPE_NAMES) == set(keys.SCOPES)
    assert set(EVENT_NAMES) == {*EVENTS, *OPT_IN_EVENTS}
    assert "ping" not in SUBSCRIBABLE_EVENTS
    assert sorted(SUBSCRIBABLE_EVENTS) == sorted({*EVENTS, *OPT_IN_EVENTS} - {"ping"})  # once each
