"""The events feed (ext): every change in the account, in commit order, for polling."""

from __future__ import annotations

from litestar import Controller

from tempclock.api.http.routing import Identity, Query, both_paths, endpoint
from tempclock.api.services import events
from tempclock.api.services.common import Page
from tempclock.api.services.events import Event, EventFilter


class EventController(Controller):
    path = "/"
    tags = ["Events"]

    @endpoint("GET", both_paths("events"), operation_id="list_events", scope="events:read",
              summary="Changes after an event id, oldest first", errors=(),
              description="Poll with `after_id` set to the last id you processed; ids follow "
                          "commit order, so no event is ever skipped.")
    def list_events(self, identity: Identity, params: Query[EventFilter]) -> Page[Event]:
        return events.list_events(identity.account_id, params)
