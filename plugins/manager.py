"""Loading plugins and calling them without letting one bad plugin hurt the host.

Plugins are modules registered in the `tempclock` entry-point group; the
first-party connectors are registered there too, exactly as a third party's.
Each entry point is loaded on its own: one that fails to import, registers a bad
connector, raises in a hook or hangs is recorded in `problems` (the desktop shows
them) and everything else keeps working.

Set `TEMPCLOCK_TRACE_HOOKS=1` to log every hook call with its arguments and result, and
`TEMPCLOCK_PLUGINS_DIR` (or `tempclock --plugins-dir DIR`) to load every `*.py` module of a
folder as a plugin too, without installing it (while you develop one).
"""

from __future__ import annotations

import concurrent.futures
import importlib.util
import logging
import os
import threading
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import pluggy

from tempclock.plugins import hookspecs
from tempclock.plugins.connectors import (
    Connector,
    ConnectorContext,
    Event,
    Setting,
    check_connector,
    check_declared_settings,
)
from tempclock.plugins.versioning import api_range_refusal

__all__ = ["ENTRY_POINT_GROUP", "PLUGINS_DIR_ENV", "SETTINGS_ATTRIBUTE", "LoadedConnector",
           "PluginHost", "PluginProblem"]

log = logging.getLogger("tempclock.plugins")

ENTRY_POINT_GROUP = "tempclock"
TRACE_ENV = "TEMPCLOCK_TRACE_HOOKS"
PLUGINS_DIR_ENV = "TEMPCLOCK_PLUGINS_DIR"
SETTINGS_ATTRIBUTE = "TEMPCLOCK_SETTINGS"  # a hook plugin's settings, declared like a connector's
HOOK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PluginProblem:
    """Something a plugin got wrong, for the admin to see."""

    plugin: str
    stage: str  # "import", "register", "register_connectors" or the hook's name
    message: str
    details: str = ""


@dataclass(frozen=True)
class LoadedConnector:
    """A registered connector and where it came from."""

    connector: Connector
    plugin: str
    package: str | None = None
    package_version: str | None = None


@dataclass
class _Plugin:
    name: str
    module: object
    package: str | None
    package_version: str | None
    hooks: frozenset[str] = frozenset()
    settings: tuple[Setting, ...] = ()
    origin: str = ""  # the file of a plugin loaded from a plugins folder
    hung: bool = False
    connectors: list[str] = field(default_factory=list)


class PluginHost:
    """The pluggy manager for group `tempclock`, with per-plugin isolation."""

    def __init__(self, *, hook_timeout: float = HOOK_TIMEOUT_S, trace: bool | None = None) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.hook_timeout = hook_timeout
        self.connectors: dict[str, LoadedConnector] = {}
        self.problems: list[PluginProblem] = []
        self._plugins: dict[str, _Plugin] = {}
        self._lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=4,
                                                           thread_name_prefix="plugin-hook")
        if trace if trace is not None else os.environ.get(TRACE_ENV, "") not in ("", "0"):
            self.pm.trace.root.setwriter(lambda message: log.info(message.rstrip()))
            self.pm.enable_tracing()

    # --- loading -------------------------------------------------------------------

    def load_entry_points(self, points: Iterable[EntryPoint] | None = None) -> None:
        """Load every entry point of the `tempclock` group, one at a time."""
        found = entry_points(group=ENTRY_POINT_GROUP) if points is None else points
        for point in sorted(found, key=lambda p: p.name):
            if point.name in self._plugins:
                continue
            dist = getattr(point, "dist", None)
            try:
                module = point.load()
            except Exception as error:  # noqa: BLE001 - any failure is the plugin's
                self._problem(point.name, "import", f"could not be imported: {error}")
                continue
            self.add_plugin(module, point.name, package=dist.name if dist else None,
                            package_version=dist.version if dist else None)

    def load_directory(self, folder: Path) -> None:
        """Load every `*.py` module in `folder` as a plugin named after its file (no install
        needed: for development). Files starting with `_` are skipped."""
        if not folder.is_dir():
            self._problem(str(folder), "import", "plugins folder does not exist")
            return
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_"):
                continue
            if path.stem in self._plugins:
                self._problem(path.stem, "import", f"{path} was not loaded: a plugin named "
                                                   f"{path.stem!r} is already installed")
                continue
            try:
                module = _import_file(path)
            except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure is the plugin's
                self._problem(path.stem, "import", f"could not be imported from {path}: "
                                                   f"{type(error).__name__}: {error}")
                continue
            self.add_plugin(module, path.stem, origin=str(path))

    def add_plugin(self, module: object, name: str, *, package: str | None = None,
                   package_version: str | None = None, origin: str = "") -> bool:
        """Register one plugin object and collect its connectors; False if it was refused."""
        refusal = api_range_refusal(name, module) or _settings_refusal(module)
        if refusal:
            self._problem(name, "register", f"was refused: {refusal}")
            return False
        try:
            self.pm.register(module, name=name)
        except Exception as error:  # noqa: BLE001
            self._problem(name, "register", f"was refused: {error}")
            return False
        hooks = {caller.name: caller for caller in self.pm.get_hookcallers(module) or ()}
        unknown = sorted(n for n, caller in hooks.items() if caller.spec is None)
        if unknown:
            self.pm.unregister(module)
            self._problem(name, "register", f"implements unknown hooks: {', '.join(unknown)}")
            return False
        plugin = _Plugin(name, module, package, package_version, frozenset(hooks),
                         tuple(getattr(module, SETTINGS_ATTRIBUTE, ())), origin)
        self._plugins[name] = plugin
        caller = self._caller("register_connectors", module)
        try:
            caller(register=lambda connector: self._register_connector(plugin, connector))
        except Exception as error:  # noqa: BLE001
            self._problem(name, "register_connectors", f"raised {type(error).__name__}: {error}")
        return True

    def remove_plugin(self, name: str) -> None:
        """Unregister a plugin and forget its connectors (tests use this in `finally`)."""
        plugin = self._plugins.pop(name, None)
        if plugin is None:
            return
        for connector_id in plugin.connectors:
            self.connectors.pop(connector_id, None)
        self.pm.unregister(name=name)

    def _register_connector(self, plugin: _Plugin, connector: Any) -> None:
        problems = check_connector(connector)
        if not problems and connector.id in self.connectors:
            owner = self.connectors[connector.id].plugin
            problems = [f"id {connector.id!r} is already used by plugin {owner!r}"]
        if problems:
            label = getattr(connector, "id", None) or repr(connector)
            self._problem(plugin.name, "register_connectors",
                          f"connector {label!r} refused: {'; '.join(problems)}")
            return
        self.connectors[connector.id] = LoadedConnector(connector, plugin.name, plugin.package,
                                                        plugin.package_version)
        plugin.connectors.append(connector.id)

    def _problem(self, plugin: str, stage: str, message: str) -> None:
        details = traceback.format_exc()
        details = "" if details.startswith("NoneType: None") else details
        log.warning("plugin %s: %s (%s)", plugin, message, stage)
        with self._lock:
            self.problems.append(PluginProblem(plugin, stage, message, details))

    def _caller(self, hook: str, module: object):
        """A hook caller that reaches only `module`'s implementation (traced like any other)."""
        others = [p for p in self.pm.get_plugins() if p is not module]
        return self.pm.subset_hook_caller(hook, remove_plugins=others)

    # --- using ---------------------------------------------------------------------

    @property
    def plugins(self) -> list[dict[str, Any]]:
        """Loaded plugins: name, package, version, origin, hooks, connectors, settings, and
        whether quarantined."""
        return [{"name": p.name, "package": p.package, "version": p.package_version,
                 "origin": p.origin, "hooks": sorted(p.hooks), "connectors": list(p.connectors),
                 "settings": p.settings, "hung": p.hung}
                for p in self._plugins.values()]

    def plugin_settings(self, name: str) -> tuple[Setting, ...]:
        """The settings hook plugin `name` declares; KeyError naming the loaded plugins."""
        try:
            return self._plugins[name].settings
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise KeyError(f"No plugin {name!r} (loaded: {known})") from None

    def connector(self, connector_id: str) -> LoadedConnector:
        """The loaded connector with this id; KeyError naming the known ones otherwise."""
        try:
            return self.connectors[connector_id]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise KeyError(f"No connector {connector_id!r} (installed: {known})") from None

    def call_event_hooks(self, event: Event, context: ConnectorContext) -> None:
        """Call each plugin's hook for `event.type` in isolation, each within the time limit.

        A plugin that raises is recorded; one that runs past the limit is recorded and
        not called again until the host restarts.
        """
        if event.type not in hookspecs.EVENT_HOOKS:
            return
        for plugin in list(self._plugins.values()):
            if plugin.hung or event.type not in plugin.hooks:
                continue
            caller = self._caller(event.type, plugin.module)
            future = self._pool.submit(caller, event=event,
                                       context=_attributed(context, plugin))
            try:
                future.result(timeout=self.hook_timeout)
            except concurrent.futures.TimeoutError:
                plugin.hung = True
                self._problem(plugin.name, event.type,
                              f"did not return within {self.hook_timeout:g} s; "
                              "it will not be called again until restart")
            except Exception as error:  # noqa: BLE001
                self._problem(plugin.name, event.type, f"raised {type(error).__name__}: {error}")

    def close(self) -> None:
        """Stop the hook threads (a hung hook's thread is left to finish on its own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _settings_refusal(module: object) -> str | None:
    """Why the settings a hook plugin declares are unusable, in one line; None when fine."""
    problems = check_declared_settings(getattr(module, SETTINGS_ATTRIBUTE, ()))
    return f"{SETTINGS_ATTRIBUTE}: {'; '.join(problems)}" if problems else None


def _attributed(context: ConnectorContext, plugin: _Plugin) -> ConnectorContext:
    """The context as `plugin` sees it (its name on deliveries and logs, its settings),
    when the host's context can say so."""
    for_plugin = getattr(context, "for_plugin", None)
    return context if for_plugin is None else for_plugin(plugin.name, plugin.settings)


def _import_file(path: Path) -> object:
    """Import the module at `path` under a name of its own (not importable by accident)."""
    spec = importlib.util.spec_from_file_location(f"tempclock_plugins_dir.{path.stem}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"{path} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_plugins(**kwargs: Any) -> PluginHost:
    """A host with every installed plugin loaded (the first-party connectors included),
    and the modules of `TEMPCLOCK_PLUGINS_DIR` when it is set."""
    host = PluginHost(**kwargs)
    host.load_entry_points()
    folder = os.environ.get(PLUGINS_DIR_ENV, "").strip()
    if folder:
        host.load_directory(Path(folder).expanduser())
    return host
