"""What the API logs ask of the admin, told apart (Qt-free): each alert says what happened
and the one action that fixes it.

- `scope_missing`: a key was refused for lacking a scope: a misconfigured integration,
  not a stolen key. Action: grant that scope (`keys.add_scope`).
- `stale_key`: a revoked or expired key is still presented: the integration (its
  address and user agent named) needs the replacement key. Action: issue one.
- compromise signals, action: revoke the key.
  `guessing` — many 401s for keys starting like one of ours;
  `new_client` / `new_user_agent` — a key used from an address or by a program never
  seen with it before (it has a history, and this is not in it);
  `odd_hours` — a burst between 00:00 and 05:00 local time from a key never used then.
- `unknown_keys`: one address presenting unknown keys again and again. Action: look at
  its requests (there is no key of ours to revoke).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
from peewee import fn

from tempclock.api.services import keys
from tempclock.api.services.common import utcnow
from tempclock.api.services.log_stats import REQUESTS, as_utc, auth_failure_bursts, naive_utc
from tempclock.api.services.names import scope_name
from tempclock.api.store.models import ApiLog as ApiLogRow

RECENT = dt.timedelta(hours=24)  # refusals an integration still needs fixed
NEW_USE = dt.timedelta(hours=1)  # how far back "new" use (address, program, hour) is looked for
BURST_WINDOW = dt.timedelta(minutes=5)
BURST_THRESHOLD = 10
ODD_HOURS = range(0, 5)  # local hours when an office's integrations normally sleep
NIGHT_HISTORY = dt.timedelta(days=30)  # a key used at night within this is used to it

# The one action of each kind, and the words on its button.
GRANT_SCOPE, REPLACE_KEY, REVOKE_KEY, SHOW_REQUESTS = (
    "grant_scope", "replace_key", "revoke_key", "show_requests")
COMPROMISE = ("guessing", "new_client", "new_user_agent", "odd_hours")
_URGENCY = {kind: n for n, kind in enumerate(
    (*COMPROMISE, "stale_key", "scope_missing", "unknown_keys"))}

ScopeOf = Callable[[str, str], str | None]  # (method, path) -> the scope its route needs


class Alert(msgspec.Struct, kw_only=True, frozen=True):
    """One thing in the logs the admin should act on."""

    kind: str  # scope_missing | stale_key | guessing | new_client | new_user_agent | ...
    headline: str  # what happened, in the admin's words
    detail: str  # the evidence, in the admin's words
    action: str  # grant_scope | replace_key | revoke_key | show_requests
    action_label: str
    count: int  # requests behind the alert
    last_at: dt.datetime
    key_id: int | None = None
    key_name: str | None = None
    key_prefix: str | None = None
    scope: str | None = None  # the scope to grant
    client: str | None = None
    user_agent: str | None = None

    @property
    def compromise(self) -> bool:
        return self.kind in COMPROMISE


@dataclass(frozen=True)
class _Window:
    account_id: int
    now: dt.datetime  # naive UTC, as stored

    def since(self, span: dt.timedelta) -> dt.datetime:
        return self.now - span


def log_alerts(account_id: int, *, scope_of: ScopeOf, now: dt.datetime | None = None,
               local_tz: dt.tzinfo | None = None) -> list[Alert]:
    """Every alert the account's logs raise now, the most urgent first.

    `scope_of` names the scope a request needed (the API's route table); `local_tz`
    is the office's time zone for odd hours (this computer's by default).
    """
    window = _Window(account_id, naive_utc(now) or utcnow())
    found = [*_compromise_signals(window, local_tz),
             *_stale_keys(window), *_missing_scopes(window, scope_of), *_unknown_keys(window)]
    return sorted(found, key=lambda a: (_URGENCY[a.kind], -a.count))


# --- misconfiguration ------------------------------------------------------------------


def _missing_scopes(window: _Window, scope_of: ScopeOf) -> list[Alert]:
    rows = (ApiLogRow
            .select(ApiLogRow.key, ApiLogRow.method, ApiLogRow.path, REQUESTS,
                    fn.MAX(ApiLogRow.created_at))
            .where((ApiLogRow.account == window.account_id)
                   & (ApiLogRow.created_at >= window.since(RECENT))
                   & (ApiLogRow.error_code == "scope_missing"))
            .group_by(ApiLogRow.key, ApiLogRow.method, ApiLogRow.path)
            .tuples())
    wanted: dict[tuple[int, str], tuple[int, dt.datetime]] = {}
    for key_id, method, path, count, last in rows:
        scope = scope_of(method, path)
        if key_id is None or scope is None:
            continue
        before, latest = wanted.get((key_id, scope), (0, as_utc(last)))
        wanted[(key_id, scope)] = (before + int(count), max(latest, as_utc(last)))
    active = {k.id: k for k in keys.list_keys(window.account_id) if k.status == "Active"}
    alerts = []
    for (key_id, scope), (count, last) in wanted.items():
        key = active.get(key_id)
        if key is None or not key.scopes or scope in key.scopes:
            continue  # gone, or granted since
        alerts.append(Alert(
            kind="scope_missing", count=count, last_at=last, scope=scope,
            key_id=key.id, key_name=key.name, key_prefix=key.prefix,
            headline=f"“{key.name}” is not allowed to {scope_name(scope).lower()}.",
            detail=f"The integration asked {count} time{_s(count)} and was turned away: its key "
                   "lacks that permission. This is a setting to change, not a break-in.",
            action=GRANT_SCOPE, action_label=f"Grant “{scope_name(scope)}”"))
    return alerts


def _stale_keys(window: _Window) -> list[Alert]:
    rows = (ApiLogRow
            .select(ApiLogRow.key, fn.MAX(ApiLogRow.key_name), fn.MAX(ApiLogRow.key_prefix),
                    fn.MAX(ApiLogRow.error_code), REQUESTS, fn.MAX(ApiLogRow.id))
            .where((ApiLogRow.account == window.account_id)
                   & (ApiLogRow.created_at >= window.since(RECENT))
                   & ApiLogRow.key.is_null(False)
                   & ApiLogRow.error_code.in_(("key_revoked", "key_expired")))
            .group_by(ApiLogRow.key)
            .tuples())
    alerts = []
    for key_id, name, prefix, code, count, newest in rows:
        last = ApiLogRow.get_by_id(newest)
        state = "revoked" if code == "key_revoked" else "expired"
        who = f"from {last.client or 'an unknown address'}" + (
            f" ({last.user_agent})" if last.user_agent else "")
        alerts.append(Alert(
            kind="stale_key", count=int(count), last_at=as_utc(last.created_at),
            key_id=key_id, key_name=name, key_prefix=prefix, client=last.client,
            user_agent=last.user_agent or None,
            headline=f"An integration still uses the {state} key “{name}”.",
            detail=f"It was turned away {count} time{_s(count)}, last {who}. Give that "
                   "integration a new key.",
            action=REPLACE_KEY, action_label="Issue a replacement key…"))
    return alerts


def _unknown_keys(window: _Window) -> list[Alert]:
    now = window.now.replace(tzinfo=dt.UTC)
    return [Alert(
        kind="unknown_keys", count=burst.failures, last_at=burst.last_at, client=burst.client,
        headline=f"Repeated refused requests from {burst.client or 'an unknown address'}.",
        detail=f"Keys that are not yours were presented {burst.failures} times in the last "
               f"{_minutes(BURST_WINDOW)} minutes. Someone may be guessing keys.",
        action=SHOW_REQUESTS, action_label="Show these requests")
        for burst in auth_failure_bursts(window.account_id, window=BURST_WINDOW,
                                         threshold=BURST_THRESHOLD, now=now)
        if burst.unknown_key and not _guessed_prefix_of(window, burst.client)]


# --- compromise signals ----------------------------------------------------------------


def _compromise_signals(window: _Window, local_tz: dt.tzinfo | None) -> list[Alert]:
    account_keys = {k.id: k for k in keys.list_keys(window.account_id)}
    found = _guessing(window, account_keys)
    for key in account_keys.values():
        if key.status == "Active":
            found += _new_use(window, key)
            found += _odd_hours(window, key, local_tz)
    return found


def _revoke(kind: str, key: keys.ApiKey, count: int, last: object, headline: str,
            detail: str, **seen: str | None) -> Alert:
    return Alert(kind=kind, count=count, last_at=as_utc(last), key_id=key.id,
                 key_name=key.name, key_prefix=key.prefix, headline=headline,
                 detail=detail + " If nobody expects this, revoke the key.",
                 action=REVOKE_KEY, action_label="Revoke key…", **seen)


def _guessing(window: _Window, account_keys: dict[int, keys.ApiKey]) -> list[Alert]:
    by_prefix = {k.prefix: k for k in account_keys.values() if k.status == "Active"}
    if not by_prefix:
        return []
    rows = (ApiLogRow
            .select(ApiLogRow.key_prefix, REQUESTS, fn.MAX(ApiLogRow.created_at))
            .where(ApiLogRow.account.is_null()
                   & (ApiLogRow.created_at >= window.since(BURST_WINDOW))
                   & ApiLogRow.key_prefix.in_(list(by_prefix)))
            .group_by(ApiLogRow.key_prefix)
            .having(BURST_THRESHOLD <= REQUESTS)
            .tuples())
    return [_revoke("guessing", by_prefix[prefix], int(count), last,
                    f"Someone is trying keys that start like “{by_prefix[prefix].name}”.",
                    f"{count} wrong keys beginning {prefix}… were presented in the last "
                    f"{_minutes(BURST_WINDOW)} minutes: part of that key may have leaked.")
            for prefix, count, last in rows]


def _guessed_prefix_of(window: _Window, client: str | None) -> bool:
    """Whether an address's unknown keys start like a key of the account (told as guessing)."""
    prefixes = [k.prefix for k in keys.list_keys(window.account_id) if k.status == "Active"]
    return bool(prefixes) and (ApiLogRow.select()
                               .where(ApiLogRow.account.is_null()
                                      & (ApiLogRow.client == client)
                                      & (ApiLogRow.created_at >= window.since(BURST_WINDOW))
                                      & ApiLogRow.key_prefix.in_(prefixes))
                               .exists())


def _used_before(key_id: int, before: dt.datetime, **where: str) -> bool:
    query = ApiLogRow.select().where((ApiLogRow.key == key_id) & (ApiLogRow.created_at < before))
    for column, value in where.items():
        query = query.where(getattr(ApiLogRow, column) == value)
    return query.exists()


def _new_use(window: _Window, key: keys.ApiKey) -> list[Alert]:
    start = window.since(NEW_USE)
    if not _used_before(key.id, start):
        return []  # no history to compare with: a key's first hour is never "new"
    recent = (ApiLogRow
              .select(ApiLogRow.client, ApiLogRow.user_agent, REQUESTS,
                      fn.MAX(ApiLogRow.created_at))
              .where((ApiLogRow.key == key.id) & (ApiLogRow.created_at >= start))
              .group_by(ApiLogRow.client, ApiLogRow.user_agent)
              .tuples())
    alerts: list[Alert] = []
    seen: set[tuple[str, str]] = set()
    for client, agent, count, last in recent:
        if (("client", client) not in seen and not _used_before(key.id, start, client=client)):
            seen.add(("client", client))
            alerts.append(_revoke(
                "new_client", key, int(count), last,
                f"“{key.name}” was used from a new address, {client}.",
                f"{count} request{_s(count)} in the last hour came from an address this key "
                "had never been used from.", client=client, user_agent=agent or None))
        elif (("agent", agent) not in seen
              and not _used_before(key.id, start, user_agent=agent)):
            seen.add(("agent", agent))
            alerts.append(_revoke(
                "new_user_agent", key, int(count), last,
                f"“{key.name}” was used by a new program.",
                f"{count} request{_s(count)} in the last hour came from “{agent or 'no name'}”, "
                "which had never used this key before.", client=client,
                user_agent=agent or None))
    return alerts


def _odd_hours(window: _Window, key: keys.ApiKey, local_tz: dt.tzinfo | None) -> list[Alert]:
    start = window.since(NEW_USE)
    recent = [(as_utc(at), n) for at, n in (ApiLogRow
                                            .select(ApiLogRow.created_at, ApiLogRow.count)
                                            .where((ApiLogRow.key == key.id)
                                                   & (ApiLogRow.created_at >= start))
                                            .tuples())]
    at_night = [(at, n) for at, n in recent if _local_hour(at, local_tz) in ODD_HOURS]
    count = sum(n for _at, n in at_night)
    if count < BURST_THRESHOLD or _used_at_night_before(key.id, start, local_tz):
        return []
    last = max(at for at, _n in at_night)
    return [_revoke("odd_hours", key, count, last.replace(tzinfo=None),
                    f"“{key.name}” was busy in the middle of the night.",
                    f"{count} requests between 00:00 and 05:00, when this key had never been "
                    "used before.")]


def _local_hour(at: dt.datetime, local_tz: dt.tzinfo | None) -> int:
    return at.astimezone(local_tz).hour


def _used_at_night_before(key_id: int, before: dt.datetime, local_tz: dt.tzinfo | None) -> bool:
    # Read only when a night burst is seen; the last month of history is enough.
    query = (ApiLogRow
             .select(ApiLogRow.created_at)
             .where((ApiLogRow.key == key_id) & (ApiLogRow.created_at < before)
                    & (ApiLogRow.created_at >= before - NIGHT_HISTORY))
             .order_by(ApiLogRow.created_at.desc())
             .tuples())
    return any(_local_hour(as_utc(at), local_tz) in ODD_HOURS
               for (at,) in query.iterator())


def _minutes(span: dt.timedelta) -> int:
    return int(span.total_seconds() // 60)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
