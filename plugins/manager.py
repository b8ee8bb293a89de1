"""Loading plugins and calling them without letting one bad plugin hurt the host.

Plugins are modules registered in the `tempclock` entry-point group; the
first-party connectors are registered there too, exactly as a third party's.
Each entry point is loaded on its own: one that fails to import (even with
`sys.exit()`), registers a bad connector, raises in a hook or hangs is recorded in
`problems` (the desktop shows them) and everything else keeps working.

Connector ids are owned: the first-party ids are reserved for this product's
distribution, and of two distributions claiming one id the one installed first keeps
it; the newcomer is refused and named. Each registered connector carries the name of
the distribution it came from (`Connector.distribution`, set here, never by the plugin),
which the host binds saved settings to.

The host runs event hooks and event-receiving connectors in a plugin process of their
own (`tempclock.api.plugin_runtime`), each plugin on a thread of its own with its own
time budget (`call_hook`, `call_connector`).

Set `TEMPCLOCK_TRACE_HOOKS=1` to log every hook call with its arguments and result, and
`TEMPCLOCK_PLUGINS_DIR` (or `tempclock --plugins-dir DIR`) to load every `*.py` module of a
folder as a plugin too, without installing it (while you develop one).
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import importlib.util
import logging
import os
import threading
import traceback
from collections.abc import Callable, Iterable
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

__all__ = ["ENTRY_POINT_GROUP", "FIRST_PARTY", "PLUGINS_DIR_ENV", "RESERVED_IDS",
           "SETTINGS_ATTRIBUTE", "LoadedConnector", "PluginHost", "PluginProblem",
           "load_plugins"]

log = logging.getLogger("tempclock.plugins")

ENTRY_POINT_GROUP = "tempclock"
TRACE_ENV = "TEMPCLOCK_TRACE_HOOKS"
PLUGINS_DIR_ENV = "TEMPCLOCK_PLUGINS_DIR"
SETTINGS_ATTRIBUTE = "TEMPCLOCK_SETTINGS"  # a hook plugin's settings, declared like a connector's
HOOK_TIMEOUT_S = 10.0
#: The distribution this product is installed as, and the connector ids it ships: no
#: other distribution may register them.
FIRST_PARTY = "tempclock"
MAX_PROBLEMS_KEPT = 500
RESERVED_IDS = frozenset({"ats-csv", "payroll-csv", "crm-push"})


@dataclass(frozen=True)
class PluginProblem:
    """Something a plugin got wrong, for the admin to see."""

    plugin: str
    stage: str  # "import", "register", "register_connectors", a hook's name, "crash"...
    message: str
    details: str = ""
    package: str | None = None
    #: How often it happened, first and last (aware UTC): filled in by the problems store.
    count: int = 1
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None


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
    """The pluggy manager for group `tempclock`, with per-plugin isolation.

    `skip` names plugins not to load (the plugin process's supervisor quarantined them);
    `on_problem` hears every problem as it is recorded (the plugin process stores them);
    `watch(plugin, running)` is told just before a plugin's code runs (True) and just
    after it returns (False), so whoever watches a process that dies knows who was running.
    """

    def __init__(self, *, hook_timeout: float = HOOK_TIMEOUT_S, trace: bool | None = None,
                 skip: Iterable[str] = (),
                 on_problem: Callable[[PluginProblem], None] | None = None,
                 watch: Callable[[str, bool], None] | None = None) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.hook_timeout = hook_timeout
        self.connectors: dict[str, LoadedConnector] = {}
        self.problems: list[PluginProblem] = []
        self.skip = frozenset(skip)
        self._on_problem = on_problem
        self._watch = watch or (lambda _plugin, _running: None)
        self._plugins: dict[str, _Plugin] = {}
        self._lock = threading.Lock()
        # One thread per plugin: a plugin whose hooks hang never holds up another's.
        self._lanes: dict[str, concurrent.futures.ThreadPoolExecutor] = {}
        if trace if trace is not None else os.environ.get(TRACE_ENV, "") not in ("", "0"):
            self.pm.trace.root.setwriter(lambda message: log.info(message.rstrip()))
            self.pm.enable_tracing()

    # --- loading -------------------------------------------------------------------

    def load_entry_points(self, points: Iterable[EntryPoint] | None = None) -> None:
        """Load every entry point of the `tempclock` group, one at a time.

        First-party plugins first, then the others in the order they were installed, so
        the incumbent owner of a connector id keeps it and a newcomer is the one refused.
        """
        found = entry_points(group=ENTRY_POINT_GROUP) if points is None else points
        for point in sorted(found, key=_load_order):
            if point.name in self._plugins or point.name in self.skip:
                continue
            dist = getattr(point, "dist", None)
            self._watch(point.name, True)
            try:
                module = point.load()
            except BaseException as error:  # noqa: BLE001 - even sys.exit() is the plugin's
                self._problem(point.name, "import",
                              f"could not be imported: {_described(error)}",
                              package=dist.name if dist else None)
                continue
            finally:
                self._watch(point.name, False)
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
            self._problem(name, "register", f"was refused: {error}", package=package)
            return False
        hooks = {caller.name: caller for caller in self.pm.get_hookcallers(module) or ()}
        unknown = sorted(n for n, caller in hooks.items() if caller.spec is None)
        if unknown:
            self.pm.unregister(module)
            self._problem(name, "register", f"implements unknown hooks: {', '.join(unknown)}",
                          package=package)
            return False
        plugin = _Plugin(name, module, package, package_version, frozenset(hooks),
                         tuple(getattr(module, SETTINGS_ATTRIBUTE, ())), origin)
        self._plugins[name] = plugin
        caller = self._caller("register_connectors", module)
        self._watch(name, True)
        try:
            caller(register=lambda connector: self._register_connector(plugin, connector))
        except BaseException as error:  # noqa: BLE001 - SystemExit too: the plugin's
            self._problem(name, "register_connectors", f"raised {_described(error)}",
                          package=package)
        finally:
            self._watch(name, False)
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
        if not problems:
            problems = self._ownership_problems(plugin, connector.id)
        if problems:
            label = getattr(connector, "id", None) or repr(connector)
            self._problem(plugin.name, "register_connectors",
                          f"connector {label!r} refused: {'; '.join(problems)}",
                          package=plugin.package)
            return
        connector.distribution = plugin.package  # the host's word, whatever the plugin set
        self.connectors[connector.id] = LoadedConnector(connector, plugin.name, plugin.package,
                                                        plugin.package_version)
        plugin.connectors.append(connector.id)

    def _ownership_problems(self, plugin: _Plugin, connector_id: str) -> list[str]:
        """Why `plugin` may not have this id: reserved for the product, or already taken."""
        if connector_id in RESERVED_IDS and not _first_party(plugin):
            return [f"id {connector_id!r} is reserved for TempClock's own connector "
                    f"(package {plugin.package or plugin.name!r} may not use it)"]
        if connector_id in self.connectors:
            owner = self.connectors[connector_id]
            return [f"id {connector_id!r} is already used by plugin {owner.plugin!r}"
                    + (f" (package {owner.package!r}, installed first)" if owner.package else "")]
        return []

    def report(self, plugin: str, stage: str, message: str, *, package: str | None = None,
               details: str = "") -> PluginProblem:
        """Record a problem of `plugin` found by whoever runs it (a budget overrun, say)."""
        known = self._plugins.get(plugin)
        return self._problem(plugin, stage, message, details=details,
                             package=package or (known.package if known else None))

    def _problem(self, plugin: str, stage: str, message: str, *, package: str | None = None,
                 details: str | None = None) -> PluginProblem:
        if details is None:
            details = traceback.format_exc()
            details = "" if details.startswith("NoneType: None") else details
        log.warning("plugin %s: %s (%s)", plugin, message, stage)
        problem = PluginProblem(plugin, stage, message, details, package)
        with self._lock:
            self.problems.append(problem)
            del self.problems[:-MAX_PROBLEMS_KEPT]  # a hook failing on every event: the latest
        if self._on_problem is not None:
            try:
                self._on_problem(problem)
            except Exception:  # noqa: BLE001 - a problem not stored is still logged above
                log.exception("could not keep the problem of plugin %s", plugin)
        return problem

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

    def listeners(self) -> list[str]:
        """The plugins that hear events: an event hook, or a connector that receives events."""
        return [p.name for p in self._plugins.values()
                if not p.hung and (p.hooks.intersection(hookspecs.EVENT_HOOKS) or any(
                    "receive_events" in self.connectors[c].connector.capabilities
                    for c in p.connectors))]

    def event_connectors(self, plugin: str) -> list[LoadedConnector]:
        """The plugin's connectors that receive events."""
        return [self.connectors[c] for c in self._plugins[plugin].connectors
                if "receive_events" in self.connectors[c].connector.capabilities]

    def hears(self, plugin: str, event_type: str) -> bool:
        """Whether the plugin implements the event hook for `event_type`."""
        return event_type in hookspecs.EVENT_HOOKS and event_type in self._plugins[plugin].hooks

    def quarantine(self, plugin: str) -> None:
        """Call the plugin no more (until the host restarts)."""
        if plugin in self._plugins:
            self._plugins[plugin].hung = True

    def is_quarantined(self, plugin: str) -> bool:
        return plugin in self._plugins and self._plugins[plugin].hung

    def call_hook(self, plugin: str, event: Event, context: ConnectorContext) -> bool:
        """Call one plugin's hook for `event` on this thread; False (recorded) if it raised.

        Anything it raises is caught, `SystemExit` and `KeyboardInterrupt` included. The
        caller enforces the time budget (this thread is the plugin's own).
        """
        loaded = self._plugins[plugin]
        caller = self._caller(event.type, loaded.module)
        context = _attributed(context, loaded)
        return self._guarded(plugin, event.type, lambda: caller(event=event, context=context))

    def call_connector(self, loaded: LoadedConnector, event: Event,
                       context: ConnectorContext) -> bool:
        """Hand `event` to a connector's `receive_event` on this thread; False if it raised."""
        return self._guarded(loaded.plugin, "receive_event",
                             lambda: loaded.connector.receive_event(event, context),
                             what=f"connector {loaded.connector.id!r} ")

    def _guarded(self, plugin: str, stage: str, call: Callable[[], object], what: str = "") -> bool:
        self._watch(plugin, True)
        try:
            call()
        except BaseException as error:  # noqa: BLE001 - whatever a plugin raises is its own
            self._problem(plugin, stage, f"{what}raised {_described(error)}",
                          package=self._plugins[plugin].package)
            return False
        finally:
            self._watch(plugin, False)
        return True

    def call_event_hooks(self, event: Event, context: ConnectorContext) -> None:
        """Call each plugin's hook for `event.type`, each on the plugin's own thread, within
        the time limit; one at a time (tests and one-off tools use this; the host runs
        `tempclock.api.plugin_runtime`).

        A plugin that raises is recorded; one that runs past the limit is recorded and
        not called again until the host restarts.
        """
        for plugin in list(self._plugins.values()):
            if plugin.hung or not self.hears(plugin.name, event.type):
                continue
            lane = self._lanes.get(plugin.name)
            if lane is None:
                lane = self._lanes[plugin.name] = concurrent.futures.ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix=f"plugin-{plugin.name}")
            future = lane.submit(self.call_hook, plugin.name, event, context)
            try:
                future.result(timeout=self.hook_timeout)
            except concurrent.futures.TimeoutError:
                self.quarantine(plugin.name)
                self.report(plugin.name, event.type,
                            f"did not return within {self.hook_timeout:g} s; it will not be "
                            "called again until TempClock restarts")

    def close(self) -> None:
        """Stop the hook threads (a hung hook's thread is left to finish on its own)."""
        for lane in self._lanes.values():
            lane.shutdown(wait=False, cancel_futures=True)


def _described(error: BaseException) -> str:
    """An exception as one line: its type, and its message when it has one."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a message that itself raises
        text = ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _first_party(plugin: _Plugin) -> bool:
    """Whether a plugin is this product's own (its distribution, or its modules in a checkout)."""
    if plugin.package is not None:
        return plugin.package == FIRST_PARTY
    return getattr(plugin.module, "__name__", "").startswith("tempclock.plugins.")


def _installed_at(point: EntryPoint) -> float:
    """When the entry point's distribution was installed (its metadata's age); 0 if unknown."""
    path = getattr(getattr(point, "dist", None), "_path", None)
    try:
        return Path(path).stat().st_mtime if path is not None else 0.0
    except OSError:
        return 0.0


def _load_order(point: EntryPoint) -> tuple[bool, float, str]:
    dist = getattr(point, "dist", None)
    return (getattr(dist, "name", None) != FIRST_PARTY, _installed_at(point), point.name)


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
    assert spec is not None and spec.loader is not None  # a *.py path always has a loader
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
