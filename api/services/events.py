"""The events feed: every change of an account, read from the outbox in commit order.

An integration that cannot receive webhooks polls `list_events(after_id=<last id
seen>)` and never misses an event: ids only grow, in the order changes committed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from tempclock.api.services.common import MAX_LIMIT, Page, Pagination, utc
from tempclock.api.services.errors import Invalid
from tempclock.api.store.models import Event as EventRow

DEFAULT_FEED_LIMIT = 100
# The outbox also keeps the admin's own changes (keys, accounts, connectors, webhook
# settings) as an audit trail; the feed carries the agency's data, as webhooks do.
ADMIN_EVENTS = (
    "account_created", "account_updated", "api_key_issued", "api_key_revoked",
    "api_key_updated",
    "connector_run", "connector_updated", "delivery_requeued", "internal_targets_changed",
    "kiosk_link_created", "kiosk_link_revoked", "late_grace_changed", "ping",
    "webhook_created", "webhook_deleted", "webhook_updated", "worker_pin_changed",
)


class Event(msgspec.Struct, kw_only=True):
    """One change, as webhooks carry it: `data` is the object as the API shows it."""

    id: int
    event: str
    created_at: dt.datetime
    data: dict[str, Any]


class EventFilter(msgspec.Struct, kw_only=True):
    after_id: int = 0
    limit: int = DEFAULT_FEED_LIMIT


def _data(text: str) -> dict[str, Any]:
    value = msgspec.json.decode(text)
    return value if isinstance(value, dict) else {"value": value}


def list_events(account_id: int, params: EventFilter | None = None) -> Page[Event]:
    """Events of the account with ids above `after_id`, oldest first."""
    params = params or EventFilter()
    if not 1 <= params.limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    if params.after_id < 0:
        raise Invalid("after_id must be 0 or more", field="after_id")
    query = EventRow.select().where((EventRow.account == account_id)
                                    & (EventRow.id > params.after_id)
                                    & EventRow.type.not_in(ADMIN_EVENTS))
    rows = list(query.order_by(EventRow.id).limit(params.limit + 1))
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    total = len(rows) if not has_more else query.count()
    return Page(
        data=[Event(id=r.id, event=r.type, created_at=utc(r.created_at), data=_data(r.data))
              for r in rows],
        pagination=Pagination(total=total, limit=params.limit, offset=0, has_more=has_more),
    )
