"""What scopes and events are called for an office admin (Qt-free).

The ids (`workers:read`, `clock.geofence_breach`) are the API's contract; people see
these names, with the id one glance away in small print or a tooltip. Every scope of
`keys.SCOPES` and every event a webhook can subscribe to has an entry here (a test
checks), so the key and webhook pickers, the API-logs alerts and the audit views all
say the same thing.
"""

from __future__ import annotations

import msgspec

from tempclock.api.services.webhooks import EVENTS, OPT_IN_EVENTS


class Name(msgspec.Struct, frozen=True):
    """A short name for a picker or a button, and one sentence saying what it allows."""

    label: str
    help: str


SCOPE_NAMES: dict[str, Name] = {
    "workers:read": Name("Read workers", "See workers and their details"),
    "workers:write": Name("Add and change workers", "Create and update workers"),
    "timesheets:read": Name("Read time entries", "See time entries and who is on site"),
    "timesheets:write": Name("Correct time entries",
                             "Add time entries by hand and correct them (audited)"),
    "clock:write": Name("Clock in/out", "Clock workers in and out"),
    "locations:read": Name("Read locations", "See locations (sites)"),
    "locations:write": Name("Add and change locations", "Create and update locations"),
    "shifts:read": Name("Read shifts", "See scheduled shifts"),
    "shifts:write": Name("Schedule shifts", "Create shifts"),
    "departments:read": Name("Read departments", "See departments"),
    "cost_codes:read": Name("Read cost codes", "See cost codes"),
    "webhooks:read": Name("See webhooks", "See webhook subscriptions"),
    "webhooks:write": Name("Manage webhooks", "Add, change and delete webhook subscriptions"),
    "events:read": Name("Read the change feed", "Poll the feed of every change instead of "
                                                "receiving webhooks"),
}

EVENT_NAMES: dict[str, Name] = {
    "*": Name("All standard events", "Every event below except the alerts"),
    "clock_in": Name("Worker clocked in", "A worker clocked in"),
    "clock_out": Name("Worker clocked out", "A worker clocked out"),
    "worker_created": Name("Worker added", "A worker was added"),
    "worker_updated": Name("Worker changed", "A worker's details were changed"),
    "shift_created": Name("Shift scheduled", "A shift was scheduled"),
    "timesheet_updated": Name("Time entry changed", "A time entry was added after the fact, "
                                                    "corrected, approved or disputed"),
    "shift_late": Name("Worker late for a shift", "A shift started more than its site's grace "
                                                  "minutes ago and its worker is not clocked in"),
    "shift_missed": Name("Shift missed", "A shift ended and its worker never clocked in"),
    "ping": Name("Test delivery", "Sent by the Send test button, to this webhook alone"),
    "clock.geofence_breach": Name("Alert: clocked in off site",
                                  "A worker clocked in outside the site's geofence (allowed, "
                                  "flagged)"),
    "clock.geofence_refused": Name("Alert: clock-in refused off site",
                                   "A clock-in was refused by the site's geofence"),
    "clock.low_gps_confidence": Name("Alert: imprecise location",
                                     "A clock-in whose phone location was too imprecise to "
                                     "check"),
}

# What a subscriber ticks: "ping" is sent by the Test button, never subscribed to.
SUBSCRIBABLE_EVENTS: tuple[str, ...] = (
    "*", *(e for e in EVENTS if e not in ("*", "ping") and e not in OPT_IN_EVENTS),
    *sorted(OPT_IN_EVENTS))


def scope_name(scope: str) -> str:
    """The admin's name for a scope (the id itself when unknown)."""
    name = SCOPE_NAMES.get(scope)
    return name.label if name else scope


def event_name(event: str) -> str:
    """The admin's name for an event (the id itself when unknown)."""
    name = EVENT_NAMES.get(event)
    return name.label if name else event
