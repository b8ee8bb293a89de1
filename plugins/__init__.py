"""Connector plugins for TempClock: the contract for plugin authors, and first-party connectors.

A plugin is a module with `hookimpl`-marked functions, registered under the
`tempclock` entry-point group. See `plugins/README.md` for the guide. Plugin code
imports only this package; its tests use `tempclock.plugins.testing`.
"""

from tempclock.plugins.connectors import (
    Cancelled,
    Connector,
    ConnectorContext,
    Event,
    Setting,
    SettingsError,
    clean_settings,
)
from tempclock.plugins.csvsafe import safe_cell, write_csv
from tempclock.plugins.hookspecs import hookimpl, hookspec
from tempclock.plugins.versioning import API_RANGE_ATTRIBUTE, PLUGIN_API_VERSION

__all__ = [
    "API_RANGE_ATTRIBUTE",
    "PLUGIN_API_VERSION",
    "Cancelled",
    "Connector",
    "ConnectorContext",
    "Event",
    "Setting",
    "SettingsError",
    "clean_settings",
    "hookimpl",
    "hookspec",
    "safe_cell",
    "write_csv",
]
