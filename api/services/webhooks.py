"""Webhook subscriptions: an integrator's URL, the events it wants, and its signing secret.

The secret is shown once, when the subscription is created (an idempotent replay
of the creation omits it). URLs pass the egress policy (`tempclock.api.services.egress`):
HTTPS to a public address unless the admin allowed internal targets. Delivery itself is
the dispatcher's job: it reads the outbox and records each attempt as a
`WebhookDelivery`, which `get_webhook` lists as the subscription's recent deliveries.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

import msgspec
from msgspec import UNSET, UnsetType

from tempclock.api.services.common import (
    ListParams,
    Page,
    clean_text,
    emit,
    fetch,
    paginate,
    set_fields,
    transaction,
    utc,
    utcnow,
)
from tempclock.api.services.egress import check_account_url
from tempclock.api.services.errors import Invalid
from tempclock.api.store.models import WebhookDelivery as DeliveryRow
from tempclock.api.store.models import WebhookSubscription as SubscriptionRow

EVENTS: tuple[str, ...] = (
    "clock_in",
    "clock_out",
    "worker_created",
    "worker_updated",
    "shift_created",
    "timesheet_updated",
    "shift_late",
    "shift_missed",
    "ping",
    "*",
    "clock.geofence_breach",
    "clock.geofence_refused",
    "clock.low_gps_confidence",
)
# Sent only to subscriptions that name them; "*" does not include them.
OPT_IN_EVENTS = frozenset({"clock.geofence_breach", "clock.geofence_refused",
                           "clock.low_gps_confidence"})
RECENT_DELIVERIES = 20
REPLAY_NOTE = "The signing secret was shown only in the first response"


class WebhookSubscription(msgspec.Struct, kw_only=True):
    id: int
    url: str
    events: list[str]
    description: str
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class WebhookCreated(WebhookSubscription, kw_only=True):
    """A new subscription with its signing secret, shown only in the creating response.

    A replay of that response (same Idempotency-Key) carries `secret: null`.
    """

    secret: str | None


class WebhookDelivery(msgspec.Struct, kw_only=True):
    id: int
    event_id: int | None
    event: str
    attempt: int
    state: str  # pending | delivered | failed
    status_code: int | None
    duration_ms: float | None
    error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None


class WebhookDetail(WebhookSubscription, kw_only=True):
    """A subscription with its most recent deliveries, newest first."""

    recent_deliveries: list[WebhookDelivery]


class WebhookCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str | None = None
    events: list[str] = msgspec.field(default_factory=lambda: ["*"])
    description: str = ""
    active: bool = True


class WebhookUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str | UnsetType = UNSET
    events: list[str] | UnsetType = UNSET
    description: str | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class WebhookFilter(ListParams, kw_only=True):
    active: bool | None = None


class PingQueued(msgspec.Struct, kw_only=True):
    subscription_id: int
    event_id: int
    delivery_id: int


def check_events(events: list[str]) -> list[str]:
    """Known event names, each once, in the order given; at least one."""
    cleaned: list[str] = []
    for name in events:
        if not isinstance(name, str) or name not in EVENTS:
            raise Invalid(f"Unknown event {name!r}; known events: {', '.join(EVENTS)}",
                          field="events")
        if name not in cleaned:
            cleaned.append(name)
    if not cleaned:
        raise Invalid("events must name at least one event (or \"*\")", field="events")
    return cleaned


def new_secret() -> str:
    """A signing secret in the Standard Webhooks format (`whsec_` + base64 of 32 bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _record(row: SubscriptionRow) -> WebhookSubscription:
    return WebhookSubscription(
        id=row.id,
        url=row.url,
        events=row.events.split(),
        description=row.description,
        active=row.active,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _delivery(row: DeliveryRow) -> WebhookDelivery:
    return WebhookDelivery(
        id=row.id,
        event_id=row.event_id,
        event=row.event_type,
        attempt=row.attempt,
        state=row.state,
        status_code=row.status_code,
        duration_ms=row.duration_ms,
        error=row.error,
        created_at=utc(row.created_at),
        next_attempt_at=utc(row.next_attempt_at),
    )


def create_webhook(account_id: int, data: WebhookCreate) -> WebhookCreated:
    """Subscribe a URL to events. The returned secret is never shown again."""
    url = check_account_url(account_id, data.url)
    events = check_events(data.events)
    description = clean_text(data.description, "description", max_length=500) or ""
    with transaction():
        row = SubscriptionRow.create(account=account_id, url=url, events=" ".join(events),
                                     description=description, active=bool(data.active),
                                     secret=new_secret())
        record = _record(row)
        emit(account_id, "webhook_created", record)
    return WebhookCreated(**msgspec.structs.asdict(record), secret=row.secret)


def as_replayed(created: WebhookCreated) -> WebhookCreated:
    """The creation as a replay shows it (and as it is kept for one): all but the secret."""
    return msgspec.structs.replace(created, secret=None)


def list_webhooks(account_id: int,
                  params: WebhookFilter | None = None) -> Page[WebhookSubscription]:
    """Subscriptions of the account (never their secrets)."""
    params = params or WebhookFilter()
    query = SubscriptionRow.select().where(SubscriptionRow.account == account_id)
    if params.active is not None:
        query = query.where(SubscriptionRow.active == params.active)
    return paginate(query, SubscriptionRow, params, _record)


def get_webhook(account_id: int, webhook_id: int) -> WebhookDetail:
    """One subscription with its recent deliveries, or NotFound."""
    row = fetch(SubscriptionRow, account_id, webhook_id, "Webhook")
    deliveries = (DeliveryRow.select()
                  .where(DeliveryRow.subscription == row.id)
                  .order_by(DeliveryRow.id.desc())
                  .limit(RECENT_DELIVERIES))
    return WebhookDetail(**msgspec.structs.asdict(_record(row)),
                         recent_deliveries=[_delivery(d) for d in deliveries])


def update_webhook(account_id: int, webhook_id: int, data: WebhookUpdate) -> WebhookSubscription:
    """Change the URL, events, description or active flag of a subscription."""
    fields = set_fields(data)
    with transaction():
        row = fetch(SubscriptionRow, account_id, webhook_id, "Webhook")
        if "url" in fields:
            row.url = check_account_url(account_id, fields["url"])
        if "events" in fields:
            row.events = " ".join(check_events(fields["events"]))
        if "description" in fields:
            row.description = clean_text(fields["description"], "description",
                                         max_length=500) or ""
        if "active" in fields:
            row.active = bool(fields["active"])
        row.updated_at = utcnow()
        row.save()
        record = _record(row)
        emit(account_id, "webhook_updated", record)
    return record


def delete_webhook(account_id: int, webhook_id: int) -> WebhookSubscription:
    """Remove a subscription and its delivery history; returns what was removed."""
    with transaction():
        row = fetch(SubscriptionRow, account_id, webhook_id, "Webhook")
        record = _record(row)
        DeliveryRow.delete().where(DeliveryRow.subscription == row.id).execute()
        SubscriptionRow.delete().where(SubscriptionRow.id == row.id).execute()
        emit(account_id, "webhook_deleted", record)
    return record


def ping_webhook(account_id: int, webhook_id: int) -> PingQueued:
    """Record a `ping` event for this subscription alone and queue its delivery."""
    with transaction():
        row = fetch(SubscriptionRow, account_id, webhook_id, "Webhook")
        event_id = emit(account_id, "ping", {"subscription_id": row.id, "url": row.url,
                                             "sent_at": utc(utcnow())})
        delivery = DeliveryRow.create(account=account_id, subscription=row.id, event=event_id,
                                      event_type="ping", state="pending",
                                      next_attempt_at=utcnow())
    return PingQueued(subscription_id=row.id, event_id=event_id, delivery_id=delivery.id)


def subscribed(subscription_events: list[str], event: str) -> bool:
    """Whether a subscription to `subscription_events` receives `event`."""
    if event in subscription_events:
        return True
    return "*" in subscription_events and event not in OPT_IN_EVENTS and event != "ping"
