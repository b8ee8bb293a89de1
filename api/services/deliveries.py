"""Outbound deliveries: the queue the dispatcher works from, with retries and a record of every attempt.

A delivery is one POST of one event to one receiver: a webhook subscription, or
a target a connector chose (`AccountContext.deliver`). Each attempt is a row; a
failed attempt is followed by a new pending row, due after an exponential
backoff with jitter, until 24 hours have passed since the first attempt. Because
the queue is in the store, a restart resumes exactly where the host stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
from peewee import JOIN, fn

from tempclock.api.services.common import emit, fetch, transaction, utc, utcnow
from tempclock.api.services.egress import check_account_url
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.services.webhooks import EVENTS as WEBHOOK_EVENTS
from tempclock.api.services.webhooks import subscribed
from tempclock.api.store.models import Account as AccountRow
from tempclock.api.store.models import DispatchCursor
from tempclock.api.store.models import Event as EventRow
from tempclock.api.store.models import WebhookDelivery as DeliveryRow
from tempclock.api.store.models import WebhookSubscription as SubscriptionRow
from tempclock.api.store.prepared import Prepared, Slot

# Events webhooks carry (`ping` is queued for its one subscription by `ping_webhook`).
DELIVERABLE = frozenset(WEBHOOK_EVENTS) - {"*", "ping"}
RETRY_WINDOW = dt.timedelta(hours=24, minutes=5)  # "at least 24 hours"
BACKOFF_FIRST = dt.timedelta(seconds=30)
BACKOFF_CAP = dt.timedelta(hours=1)
JITTER = 0.2
SENDING_TIMEOUT = dt.timedelta(minutes=5)  # a claim older than this was lost in a crash
MAX_ERROR_LENGTH = 500


class Outbound(msgspec.Struct, kw_only=True):
    """A claimed delivery, with everything needed to send and sign it."""

    id: int
    account_id: int
    subscription_id: int | None
    connector: str | None
    event_id: int | None
    event_type: str
    message_id: str
    url: str
    body: str
    headers: dict[str, str]
    secret: str | None
    attempt: int
    created_at: dt.datetime
    internal_allowed: bool  # the account's egress allowance, read when claimed


class Delivery(msgspec.Struct, kw_only=True):
    """One attempt, as the admin sees it."""

    id: int
    subscription_id: int | None
    connector: str | None
    event_id: int | None
    event: str
    url: str | None
    attempt: int
    state: str
    status_code: int | None
    duration_ms: float | None
    error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime


def backoff(attempt: int, rng: random.Random | None = None) -> dt.timedelta:
    """How long to wait after failed attempt number `attempt` (1-based), jittered ±20%."""
    base = min(BACKOFF_FIRST * (2 ** (attempt - 1)), BACKOFF_CAP)
    factor = (rng or random).uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 - jitter, not secrets
    return base * factor


def event_body(event_id: int, event_type: str, created_at: dt.datetime, data_json: str) -> str:
    """The JSON body of a webhook delivery: `{"id", "event", "created_at", "data"}`."""
    head = msgspec.json.encode({"id": event_id, "event": event_type,
                                "created_at": utc(created_at)}).decode()
    return f'{head[:-1]},"data":{data_json}}}'


# --- cursors ------------------------------------------------------------------------


def cursor(name: str) -> int:
    """The last event id a dispatcher stage has handled."""
    row = DispatchCursor.get_or_none(DispatchCursor.name == name)
    if row is None:
        # A new store starts from its first event; an upgraded one from now on.
        return 0
    return row.last_event_id


def _advance(name: str, last_event_id: int) -> None:
    (DispatchCursor.insert(name=name, last_event_id=last_event_id, updated_at=utcnow())
     .on_conflict(conflict_target=[DispatchCursor.name],
                  update={DispatchCursor.last_event_id: last_event_id,
                          DispatchCursor.updated_at: utcnow()})
     .execute())


def pending_events(after_id: int, limit: int = 200) -> list[EventRow]:
    """Outbox events after `after_id`, in commit order."""
    return list(EventRow.select().where(EventRow.id > after_id).order_by(EventRow.id).limit(limit))


def advance_cursor(name: str, last_event_id: int) -> None:
    """Record that a stage has handled every event up to `last_event_id`."""
    with transaction():
        _advance(name, last_event_id)


# --- fan-out ------------------------------------------------------------------------


def fan_out(limit: int = 200) -> int:
    """Queue a delivery for each active subscription of each new event; returns events read.

    Runs in one transaction with the cursor, so every event is fanned out exactly once.
    Only the event types of the webhook contract are delivered.
    """
    with transaction():
        after = cursor("webhooks")
        events = pending_events(after, limit)
        if not events:
            return 0
        accounts = {e.account_id for e in events}
        subscriptions: dict[int, list[SubscriptionRow]] = {a: [] for a in accounts}
        for sub in SubscriptionRow.select().where(SubscriptionRow.account.in_(accounts)
                                                  & SubscriptionRow.active):
            subscriptions[sub.account_id].append(sub)
        now = utcnow()
        rows = []
        for event in events:
            if event.type not in DELIVERABLE:
                continue
            for sub in subscriptions[event.account_id]:
                # A subscription hears what happens from its creation on.
                if event.created_at >= sub.created_at and subscribed(sub.events.split(),
                                                                     event.type):
                    rows.append({
                        "account": event.account_id, "subscription": sub.id,
                        "event": event.id, "event_type": event.type,
                        "message_id": f"msg_{event.id}_{sub.id}",
                        "body": event_body(event.id, event.type, event.created_at, event.data),
                        "attempt": 1, "state": "pending", "next_attempt_at": now,
                        "first_attempt_at": None, "created_at": now,
                    })
        for start in range(0, len(rows), 100):
            DeliveryRow.insert_many(rows[start:start + 100]).execute()
        _advance("webhooks", events[-1].id)
    return len(events)


def queue_connector_delivery(
    account_id: int,
    connector: str,
    url: str,
    payload: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    event_id: int | None = None,
    event_type: str = "connector",
) -> int:
    """Queue a JSON POST chosen by a connector or plugin; returns the delivery id.

    Calling it again for the same event with the same URL and the same payload (a
    redelivered event) queues nothing new: the first delivery's id is returned. A
    different payload, or another URL, is a delivery of its own, with its own
    `X-TempClock-Delivery` / `webhook-id`, so a receiver that drops repeats keeps both.
    """
    url = check_account_url(account_id, url, lookup=False)  # no lookup per event: sending checks
    body = msgspec.json.encode(payload).decode()
    extra = {str(k): str(v) for k, v in (headers or {}).items()}
    digest = hashlib.sha256(f"{url}\n{body}".encode()).hexdigest()[:16]
    message_id = f"msg_{event_id or 0}_{digest}_{connector}"[:64]
    with transaction():
        if event_id is not None:
            existing = (DeliveryRow.select(DeliveryRow.id)
                        .where((DeliveryRow.connector == connector)
                               & (DeliveryRow.event == event_id)
                               & (DeliveryRow.message_id == message_id))
                        .first())
            if existing is not None:
                return existing.id
        row = DeliveryRow.create(
            account=account_id, connector=connector, event=event_id, event_type=event_type,
            message_id=message_id, url=url, body=body,
            headers=msgspec.json.encode(extra).decode(), next_attempt_at=utcnow())
    return row.id


# --- sending --------------------------------------------------------------------------


_reclaim_lost = Prepared(
    lambda p: DeliveryRow.update(state="pending")
    .where((DeliveryRow.state == "sending") & (DeliveryRow.next_attempt_at < p.lost_before))
)
_mark_sending = Prepared(
    lambda p: DeliveryRow.update({
        DeliveryRow.state: "sending",
        DeliveryRow.next_attempt_at: Slot("now", DeliveryRow.next_attempt_at),
        DeliveryRow.first_attempt_at: fn.COALESCE(DeliveryRow.first_attempt_at,
                                                  Slot("now", DeliveryRow.first_attempt_at)),
    }).where(DeliveryRow.id == p.id)
)
_due: dict[int, Prepared] = {}  # one per claim size (a few: up to the dispatcher's senders)


def _due_deliveries(limit: int) -> Prepared:
    """The `limit` oldest due deliveries, with their subscription's target and the
    account's egress allowance."""
    prepared = _due.get(limit)
    if prepared is None:
        prepared = _due[limit] = Prepared(
            lambda p: DeliveryRow.select(*DeliveryRow._meta.sorted_fields,
                                         SubscriptionRow.url.alias("sub_url"),
                                         SubscriptionRow.secret.alias("sub_secret"),
                                         AccountRow.internal_targets_allowed.alias(
                                             "internal_allowed"))
            .join(SubscriptionRow, on=(DeliveryRow.subscription == SubscriptionRow.id),
                  join_type=JOIN.LEFT_OUTER)
            .switch(DeliveryRow)
            .join(AccountRow, on=(DeliveryRow.account == AccountRow.id))
            .where((DeliveryRow.state == "pending") & (DeliveryRow.next_attempt_at <= p.now))
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
            .limit(limit))
    return prepared


def claim_due(limit: int) -> list[Outbound]:
    """Mark up to `limit` due deliveries as being sent and return them, oldest first."""
    now = utcnow()
    # Prepared statements: the dispatcher claims once per free sender, hundreds of
    # times a second in a burst, and building this SQL was most of what a claim cost.
    with transaction():
        _reclaim_lost.rowcount(lost_before=now - SENDING_TIMEOUT)
        rows = _due_deliveries(limit).rows(now=now)
        for row in rows:
            _mark_sending.rowcount(id=row.id, now=now)
    # A delivery queued without its body (a ping, say) is built from its event now.
    missing = [r.event_id for r in rows if r.body is None and r.event_id is not None]
    bodies = {e.id: event_body(e.id, e.type, e.created_at, e.data)
              for e in EventRow.select().where(EventRow.id.in_(missing))} if missing else {}
    return [
        Outbound(
            id=r.id, account_id=r.account_id, subscription_id=r.subscription_id,
            connector=r.connector, event_id=r.event_id, event_type=r.event_type,
            message_id=r.message_id or f"msg_{r.event_id}_{r.subscription_id}",
            url=r.url or r.sub_url, body=r.body or bodies.get(r.event_id, "{}"),
            headers=msgspec.json.decode(r.headers) if r.headers else {},
            secret=r.sub_secret, attempt=r.attempt, created_at=utc(r.created_at),
            internal_allowed=bool(r.internal_allowed),
        )
        for r in rows
        if r.url or r.sub_url
    ]


class Attempt(NamedTuple):
    """How one sending attempt went."""

    delivery_id: int
    ok: bool
    status_code: int | None
    duration_ms: float
    error: str | None = None
    final: bool = False  # no retry: the URL is invalid or the egress policy refuses it


_finish_attempt = Prepared(
    lambda p: DeliveryRow.update({
        DeliveryRow.state: Slot("state", DeliveryRow.state),
        DeliveryRow.status_code: Slot("status_code", DeliveryRow.status_code),
        DeliveryRow.duration_ms: Slot("duration_ms", DeliveryRow.duration_ms),
        DeliveryRow.error: Slot("error", DeliveryRow.error),
        DeliveryRow.next_attempt_at: Slot("next_attempt_at", DeliveryRow.next_attempt_at),
    }).where(DeliveryRow.id == p.id)
)


def record_attempts(attempts: Sequence[Attempt]) -> list[Delivery]:
    """Record how attempts went, in one transaction; each failure queues its next attempt
    unless the retry window has closed."""
    now = utcnow()
    retries = []
    with transaction():
        rows = {row.id: row for row in DeliveryRow.select().where(
            DeliveryRow.id.in_([a.delivery_id for a in attempts]))}
        for attempt in attempts:
            row = rows[attempt.delivery_id]
            first = row.first_attempt_at or now
            retry_at = None
            if not attempt.ok and not attempt.final and now - first < RETRY_WINDOW:
                retry_at = now + backoff(row.attempt)
                retries.append({
                    "account": row.account_id, "subscription": row.subscription_id,
                    "connector": row.connector, "event": row.event_id,
                    "event_type": row.event_type, "message_id": row.message_id, "url": row.url,
                    "body": row.body, "headers": row.headers, "attempt": row.attempt + 1,
                    "state": "pending", "next_attempt_at": retry_at, "first_attempt_at": first,
                    "created_at": now})
            row.state = "delivered" if attempt.ok else "failed"
            row.status_code = attempt.status_code
            row.duration_ms = round(attempt.duration_ms, 1)
            row.error = (None if attempt.ok
                         else (attempt.error or f"HTTP {attempt.status_code}")[:MAX_ERROR_LENGTH])
            row.next_attempt_at = retry_at
            _finish_attempt.rowcount(id=row.id, state=row.state, status_code=row.status_code,
                                     duration_ms=row.duration_ms, error=row.error,
                                     next_attempt_at=retry_at)
        if retries:
            DeliveryRow.insert_many(retries).execute()
    return [_record(rows[a.delivery_id]) for a in attempts]


# --- the admin's view -------------------------------------------------------------------


def _record(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, subscription_id=row.subscription_id, connector=row.connector,
        event_id=row.event_id, event=row.event_type, url=row.url, attempt=row.attempt,
        state=row.state, status_code=row.status_code, duration_ms=row.duration_ms,
        error=row.error, next_attempt_at=utc(row.next_attempt_at), created_at=utc(row.created_at))


def list_deliveries(account_id: int, *, subscription_id: int | None = None,
                    connector: str | None = None, limit: int = 100) -> list[Delivery]:
    """The account's delivery attempts, newest first."""
    if not 1 <= limit <= 1000:
        raise Invalid("limit must be between 1 and 1000", field="limit")
    query = DeliveryRow.select().where(DeliveryRow.account == account_id)
    if subscription_id is not None:
        query = query.where(DeliveryRow.subscription == subscription_id)
    if connector is not None:
        query = query.where(DeliveryRow.connector == connector)
    return [_record(row) for row in query.order_by(DeliveryRow.id.desc()).limit(limit)]


class Posted(msgspec.Struct, kw_only=True):
    """What a connector or plugin asked to send (`deliver`): the first attempt of each."""

    connector: str | None
    event_id: int | None
    url: str
    payload: Any
    headers: dict[str, str]
    state: str


def posts_by_plugins(account_id: int) -> list[Posted]:
    """The account's deliveries queued by connectors and plugins, oldest first (tests read
    them to see what a plugin sent)."""
    query = (DeliveryRow.select()
             .where((DeliveryRow.account == account_id) & DeliveryRow.subscription.is_null()
                    & (DeliveryRow.attempt == 1))
             .order_by(DeliveryRow.id))
    return [Posted(connector=row.connector, event_id=row.event_id, url=row.url,
                   payload=msgspec.json.decode(row.body),
                   headers=msgspec.json.decode(row.headers or "{}"), state=row.state)
            for row in query]


def redeliver(account_id: int, delivery_id: int) -> Delivery:
    """Send a delivered or failed attempt's event again, now, as a fresh series of attempts."""
    with transaction():
        row = fetch(DeliveryRow, account_id, delivery_id, "Delivery")
        if row.state in ("pending", "sending"):
            raise Conflict(f"Delivery {delivery_id} is already queued", code="delivery_queued")
        now = utcnow()
        new = DeliveryRow.create(
            account=account_id, subscription=row.subscription_id, connector=row.connector,
            event=row.event_id, event_type=row.event_type, message_id=row.message_id,
            url=row.url, body=row.body, headers=row.headers, attempt=1, state="pending",
            next_attempt_at=now, first_attempt_at=None)
        emit(account_id, "delivery_requeued", {"id": new.id, "from": row.id})
    return _record(new)
