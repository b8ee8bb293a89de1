"""A throwaway TempClock to test plugins against: the `tempclock` pytest fixture.

Installed with TempClock as a pytest plugin, so a plugin's tests need no conftest::

    from my_plugin import MyAts

    def test_people_are_imported(tempclock, tmp_path):
        export = tmp_path / "people.json"
        export.write_text('[{"id": "H1", "given": "Ann", "family": "Nowak"}]')
        run = tempclock.run(MyAts(), {"file": str(export)})
        assert run.status == "succeeded"
        assert [w["employee_ref"] for w in tempclock.workers()] == ["H1"]

Each test gets a real store (SQLite, in the test's temporary folder, whatever
`TEMPCLOCK_DATABASE_URL` says), one account, and a plugin host with no plugins:
hand it yours with `use(plugin)` (or `load_installed()`). What the host refuses (a
worker already clocked in, a bad setting) raises `ValueError` with its reason. Everything goes through
the host's own services and dispatcher, so what passes here behaves the same in
the product. Outside pytest, `TempClock(folder)` works the same; `close()` it.

This module is the test kit, part of the host: your plugin's code imports only
`tempclock.plugins`; your tests may use this.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tempclock.plugins.connectors import Connector
from tempclock.plugins.hookspecs import hookimpl
from tempclock.plugins.manager import PluginHost, PluginProblem

__all__ = ["PluginFailed", "TempClock", "tempclock"]

HOOK_TIMEOUT_S = 10.0


class PluginFailed(AssertionError):
    """A plugin raised, hung or was refused while the harness used it; the message says how."""


def _problems_text(problems: list[PluginProblem]) -> str:
    return "\n\n".join(f"plugin {p.plugin!r} ({p.stage}): {p.message}"
                       + (f"\n{p.details.rstrip()}" if p.details else "") for p in problems)


def _record(value: Any) -> dict[str, Any]:
    import msgspec

    return msgspec.to_builtins(value, builtin_types=(dt.datetime, dt.date))


def _id(value: Mapping[str, Any] | int | None) -> int | None:
    """A record's id, whether given the record (a dict) or the id itself."""
    return value["id"] if isinstance(value, Mapping) else value


@contextlib.contextmanager
def _as_value_error() -> Iterator[None]:
    """The host's refusal of a value (a bad setting, say) as the `ValueError` plugins know."""
    from tempclock.api.services.errors import DomainError

    try:
        yield
    except DomainError as error:
        raise ValueError(error.message) from None


class _Registers:
    """A plugin that registers one connector object the test hands over."""

    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        # Named after the connector's own module, so a first-party connector under test keeps
        # its reserved id and a third party's does not get one.
        self.__name__ = type(connector).__module__

    @hookimpl
    def register_connectors(self, register):
        register(self._connector)


class TempClock:
    """A TempClock host in `folder`, with a store, an account and a plugin host of its own."""

    def __init__(self, folder: str | os.PathLike[str], *, account_name: str = "Test Agency",
                 hook_timeout: float = HOOK_TIMEOUT_S) -> None:
        from tempclock.api.config import load_config
        from tempclock.api.services import accounts
        from tempclock.api.store import open_store

        self.folder = Path(folder)
        self.config = load_config(self.folder, environ={})  # SQLite here, whatever the env says
        open_store(self.config)
        self.account_id: int = accounts.create_account(account_name).id
        self.host = PluginHost(hook_timeout=hook_timeout)
        self.export_dir = self.folder / "exports"
        self._dispatcher = None
        self._problems_seen = 0

    # --- plugins -------------------------------------------------------------------

    def use(self, plugin: object, name: str | None = None) -> str:
        """Load `plugin` (your plugin module, or an object with hook implementations);
        returns the name it is loaded under. `PluginFailed` if the host refuses it."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        self.host.add_plugin(plugin, name)
        self._raise_new_problems()
        return name

    def load_installed(self) -> None:
        """Load every installed plugin (entry points of group `tempclock`), as the product does."""
        self.host.load_entry_points()
        self._raise_new_problems()

    def connector(self, connector: Connector | str) -> Connector:
        """The loaded connector with this id, or this connector object, loaded if no connector
        has its id yet (so the dispatcher finds it). Load your plugin with `use` first when
        you test its hooks too."""
        if isinstance(connector, str):
            try:
                return self.host.connector(connector).connector
            except KeyError as error:
                raise PluginFailed(error.args[0]) from None
        loaded = self.host.connectors.get(connector.id)
        if loaded is None:
            self.use(_Registers(connector), f"{connector.id}-under-test")
        elif type(loaded.connector) is not type(connector):
            raise PluginFailed(f"another connector with id {connector.id!r} is loaded "
                               f"(plugin {loaded.plugin!r})")
        return connector

    # --- the account's data -------------------------------------------------------

    def add_location(self, name: str = "Head Office", *, timezone: str = "Europe/London",
                     **fields: Any) -> dict[str, Any]:
        """A new site of the account (any field of the API's locations)."""
        from tempclock.api.services import locations

        with _as_value_error():
            site = locations.create_location(
                self.account_id, locations.LocationCreate(name=name, timezone=timezone, **fields))
        return _record(site)

    def add_worker(self, first_name: str = "Ann", last_name: str = "Nowak", *,
                   location: Mapping[str, Any] | int | None = None,
                   **fields: Any) -> dict[str, Any]:
        """A new worker of the account (any field of the API's workers), at `location`."""
        from tempclock.api.services import workers

        fields.setdefault("location_id", _id(location))
        with _as_value_error():
            worker = workers.create_worker(
                self.account_id,
                workers.WorkerCreate(first_name=first_name, last_name=last_name, **fields))
        return _record(worker)

    def clock_in(self, worker: Mapping[str, Any] | int, *,
                 location: Mapping[str, Any] | int | None = None,
                 at: dt.datetime | None = None) -> dict[str, Any]:
        """Clock `worker` in (at their own site unless `location` says), now or `at`."""
        from tempclock.api.services import clocking

        with _as_value_error():
            entry = clocking.clock_in(self.account_id, _id(worker), location_id=_id(location),
                                      timestamp=at, source="desktop")
        return _record(entry)

    def clock_out(self, worker: Mapping[str, Any] | int, *,
                  at: dt.datetime | None = None) -> dict[str, Any]:
        """Clock `worker` out, now or `at`; returns the closed entry."""
        from tempclock.api.services import clocking

        with _as_value_error():
            return _record(clocking.clock_out(self.account_id, _id(worker), timestamp=at))

    def add_entry(self, worker: Mapping[str, Any] | int, clock_in: dt.datetime,
                  clock_out: dt.datetime, *, location: Mapping[str, Any] | int | None = None,
                  breaks: Iterable[tuple[dt.datetime, dt.datetime]] = (),
                  cost_code: Mapping[str, Any] | int | None = None,
                  status: str = "completed") -> dict[str, Any]:
        """A finished time entry on any past date (at the worker's own site unless `location`
        says), for exports: `status` is `completed`, `approved` or `disputed`."""
        from tempclock.api.services import clocking

        site = _id(location)
        if site is None:
            site = self._worker(worker)["location_id"]
        with _as_value_error():
            entry = clocking.record_entry(self.account_id, _id(worker), site, clock_in,
                                          clock_out, breaks=list(breaks),
                                          cost_code_id=_id(cost_code), status=status)
        return _record(entry)

    def add_cost_code(self, code: str, name: str = "") -> dict[str, Any]:
        """A new cost code of the account."""
        from tempclock.api.services import cost_codes

        made = cost_codes.create_cost_code(
            self.account_id, cost_codes.CostCodeCreate(code=code, name=name or code))
        return _record(made)

    def _worker(self, worker: Mapping[str, Any] | int) -> Mapping[str, Any]:
        if isinstance(worker, Mapping):
            return worker
        from tempclock.api.services import workers

        return _record(workers.get_worker(self.account_id, worker))

    def workers(self) -> list[dict[str, Any]]:
        """Every worker of the account, as a connector's context reads them."""
        return list(self.context().workers())

    def context(self, settings: Mapping[str, Any] | None = None):
        """A context on the account, as a connector's run gets (for reading in asserts)."""
        from tempclock.api.services.connectors import AccountContext

        return AccountContext(self.account_id, settings=settings, export_dir=self.export_dir)

    # --- connectors ----------------------------------------------------------------

    def enable(self, connector: Connector | str,
               settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Save `settings` for the connector (checked as the desktop checks them: `ValueError`
        says what is wrong) and switch it on for the account; returns the saved settings."""
        from tempclock.api.services import connectors

        found = self.connector(connector)
        with _as_value_error():
            connectors.save_settings(self.account_id, found, dict(settings or {}))
            return connectors.set_enabled(self.account_id, found, True).settings

    def configure(self, plugin: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Save the settings of hook plugin `plugin` (its name in `use`), checked against its
        `TEMPCLOCK_SETTINGS` as the desktop checks them; returns them as saved."""
        from tempclock.api.services import connectors

        try:
            declared = self.host.plugin_settings(plugin)
        except KeyError as error:
            raise PluginFailed(error.args[0]) from None
        with _as_value_error():
            return connectors.save_plugin_settings(self.account_id, plugin, declared,
                                                   dict(settings)).settings

    def run(self, connector: Connector | str, settings: Mapping[str, Any] | None = None, *,
            dry_run: bool = False):
        """Run the connector's import or export now, with its saved settings and `settings`
        on top; returns the run record (`status`, `counts`, `errors`, `log`, ...).

        Exports go to `export_dir` unless a setting says otherwise.
        """
        from tempclock.api.services import connectors

        found = self.connector(connector) if isinstance(connector, str) else connector
        with _as_value_error():  # settings refused before the run starts
            return connectors.run_connector(self.account_id, found,
                                            overrides=dict(settings or {}), dry_run=dry_run,
                                            export_dir=self.export_dir)

    def runs(self, connector: Connector | str | None = None) -> list[Any]:
        """The account's runs (of one connector), newest first."""
        from tempclock.api.services import connectors

        connector_id = connector.id if isinstance(connector, Connector) else connector
        return connectors.list_runs(self.account_id, connector_id)

    # --- events ----------------------------------------------------------------------

    def dispatch(self) -> int:
        """Hand every event not yet handed out to the plugins' hooks and the event-receiving
        connectors switched on, as the host's dispatcher does, and wait for them; returns
        how many events. `PluginFailed` (with the traceback) if a plugin raised or hung."""
        if self._dispatcher is None:
            from tempclock.api.dispatcher import Dispatcher

            self._dispatcher = Dispatcher(plugins=self.host, export_dir=self.export_dir,
                                          senders=1)
        total = 0
        while handed := self._dispatcher.notify_plugins():
            total += handed
        self._raise_new_problems()
        return total

    def deliveries(self) -> list[dict[str, Any]]:
        """What connectors and plugins asked to send with `context.deliver`, oldest first:
        `connector` (who), `event_id`, `url`, `payload`, `headers`, `state`. Nothing is
        really sent in a test."""
        from tempclock.api.services import deliveries

        return [_record(post) for post in deliveries.posts_by_plugins(self.account_id)]

    @property
    def problems(self) -> list[PluginProblem]:
        """Everything plugins got wrong so far (the harness also raises on each)."""
        return list(self.host.problems)

    def _raise_new_problems(self) -> None:
        new = self.host.problems[self._problems_seen:]
        self._problems_seen = len(self.host.problems)
        if new:
            raise PluginFailed(_problems_text(new))

    def close(self) -> None:
        """Stop the plugin host and close the store."""
        from tempclock.api.store import close_store

        if self._dispatcher is not None:
            self._dispatcher.stop()  # closes the plugin host too
        else:
            self.host.close()
        close_store()


@pytest.fixture
def tempclock(tmp_path) -> Iterator[TempClock]:
    """A throwaway TempClock (store, account, plugin host) in the test's temporary folder."""
    harness = TempClock(tmp_path / "tempclock-data")
    try:
        yield harness
    finally:
        harness.close()
