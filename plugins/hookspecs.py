"""The hooks a TempClock plugin can implement.

Mark implementations with `hookimpl` (from `plugins`), name the function after the
hook, and register the module through the `tempclock` entry-point group::

    [project.entry-points.tempclock]
    my_connector = "my_package.plugin"

Every hook is documented, with an example, in `plugins/README.md`.
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from tempclock.plugins.connectors import Connector, ConnectorContext, Event

hookspec = pluggy.HookspecMarker("tempclock")
hookimpl = pluggy.HookimplMarker("tempclock")


# ---------------------------------------------------------------------------------
# Connectors
# ---------------------------------------------------------------------------------


@hookspec
def register_connectors(register: Callable[[Connector], None]) -> None:
    """Hand your connectors to the host.

    Called once, when plugins are loaded. Call ``register(connector)`` for each
    connector object (an instance of a `tempclock.plugins.Connector` subclass). The host checks
    each one (unique id, a known kind, well-formed settings, the methods its
    capabilities need) and refuses a bad one with a message shown to the admin;
    the plugin's other connectors still load.

    :param register: the host's callback; returns nothing, raises nothing.
    """


# ---------------------------------------------------------------------------------
# Events: called after the change committed, once per event, for every account.
# Use them to observe; to send data elsewhere, prefer a connector with the
# `receive_events` capability, which has per-account settings and retried delivery.
# ---------------------------------------------------------------------------------


@hookspec
def clock_in(event: Event, context: ConnectorContext) -> None:
    """A worker clocked in. `event.data` is the new open time entry.

    :param event: the event (`type == "clock_in"`).
    :param context: the account's context (read data, `deliver`, `log`), with the
        settings the admin saved for your plugin (`TEMPCLOCK_SETTINGS`).
    """


@hookspec
def clock_out(event: Event, context: ConnectorContext) -> None:
    """A worker clocked out. `event.data` is the closed time entry with its hours.

    :param event: the event (`type == "clock_out"`).
    :param context: the account's context (read data, `deliver`, `log`), with the
        settings the admin saved for your plugin (`TEMPCLOCK_SETTINGS`).
    """


@hookspec
def worker_created(event: Event, context: ConnectorContext) -> None:
    """A worker was added. `event.data` is the worker.

    :param event: the event (`type == "worker_created"`).
    :param context: the account's context (read data, `deliver`, `log`), with the
        settings the admin saved for your plugin (`TEMPCLOCK_SETTINGS`).
    """


@hookspec
def worker_updated(event: Event, context: ConnectorContext) -> None:
    """A worker changed (including being deactivated). `event.data` is the worker now.

    :param event: the event (`type == "worker_updated"`).
    :param context: the account's context (read data, `deliver`, `log`), with the
        settings the admin saved for your plugin (`TEMPCLOCK_SETTINGS`).
    """


@hookspec
def shift_created(event: Event, context: ConnectorContext) -> None:
    """A shift was scheduled. `event.data` is the shift.

    :param event: the event (`type == "shift_created"`).
    :param context: the account's context (read data, `deliver`, `log`), with the
        settings the admin saved for your plugin (`TEMPCLOCK_SETTINGS`).
    """


EVENT_HOOKS: tuple[str, ...] = (
    "clock_in",
    "clock_out",
    "worker_created",
    "worker_updated",
    "shift_created",
)
