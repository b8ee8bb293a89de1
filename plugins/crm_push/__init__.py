"""CRM push: chosen events sent to a CRM's URL as JSON, with a field mapping.

Deliveries go through the host's retrying queue (the same as webhooks), so a CRM
that is down for an hour still receives every event once it is back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tempclock.plugins import Connector, ConnectorContext, Event, Setting, hookimpl

__version__ = "1.0.0"

EVENTS = ("clock_in", "clock_out", "worker_created", "worker_updated", "shift_created")


def parse_mapping(text: str) -> dict[str, str]:
    """`"externalId=id; name=worker_name"` → {CRM field: path in the event}."""
    mapping: dict[str, str] = {}
    for part in re.split(r"[;\n]", text or ""):
        if not part.strip():
            continue
        target, sep, source = part.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise ValueError(f"Bad field mapping {part.strip()!r}: write crm_field=source, "
                             "e.g. externalId=id or site=assignment.location_name")
        mapping[target.strip()] = source.strip()
    return mapping


def lookup(event: Event, path: str) -> Any:
    """A value of the event by dotted path: `event`, `event_id`, `created_at`, or into `data`."""
    if path == "event":
        return event.type
    if path == "event_id":
        return event.id
    if path == "created_at":
        return event.created_at.isoformat().replace("+00:00", "Z")
    value: Any = event.data
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def payload(event: Event, mapping: Mapping[str, str]) -> dict[str, Any]:
    """The JSON object sent for an event: the mapped fields, or the whole event."""
    if not mapping:
        return {"id": event.id, "event": event.type,
                "created_at": lookup(event, "created_at"), "data": dict(event.data)}
    return {target: lookup(event, source) for target, source in mapping.items()}


class CrmPush(Connector):
    id = "crm-push"
    name = "CRM push"
    kind = "crm"
    version = __version__
    description = "Sends chosen events to your CRM as JSON, retrying until it accepts them."
    capabilities = frozenset({"receive_events"})
    events = ("worker_created", "worker_updated")
    settings = (
        Setting("url", "CRM endpoint URL", type="url", required=True,
                help="HTTPS to a public address; this PC or the office network only when "
                     "internal targets are allowed for the account."),
        Setting("events", "Events to send", type="multichoice",
                default=["worker_created", "worker_updated"], choices=EVENTS),
        Setting("mapping", "Field mapping", type="text", default="",
                help="crm_field=source; ... Sources: event, event_id, created_at, or a field "
                     "of the object such as id, worker_name, assignment.location_name. "
                     "Empty sends the whole event."),
        Setting("authorization", "Authorization header", type="secret", default="",
                help="Sent as the Authorization header, e.g. Bearer <token>."),
    )

    def receive_event(self, event: Event, context: ConnectorContext) -> None:
        settings = context.settings
        headers = {"Authorization": settings["authorization"]} if settings.get(
            "authorization") else {}
        context.deliver(settings["url"], payload(event, parse_mapping(settings.get("mapping"))),
                        headers=headers)


@hookimpl
def register_connectors(register):
    register(CrmPush())
