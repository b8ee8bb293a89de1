"""What the plugin host refuses, and says why, when a plugin gets the contract wrong; and the
odd things a plugin or a plugins folder can do that must not hurt the host."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sys
from importlib.metadata import EntryPoint, distributions

import pytest

from tempclock.api.plugin_runtime import _keep
from tempclock.plugins import Connector, Setting, hookimpl
from tempclock.plugins.connectors import Event, SettingsError, clean_settings
from tempclock.plugins.manager import PluginHost


def event() -> Event:
    return Event(id=1, type="clock_in", account_id=1, created_at=dt.datetime.now(dt.UTC), data={})


def refusals(host: PluginHost) -> list[str]:
    return [p.message for p in host.problems if p.stage == "register_connectors"]


class Registers:
    """A plugin that registers whatever it is given."""

    def __init__(self, *connectors: object) -> None:
        self.connectors = connectors

    @hookimpl
    def register_connectors(self, register):
        for connector in self.connectors:
            register(connector)


def ats(**attributes) -> Connector:
    """A connector of a class made for the test, with `attributes` (a run() unless None)."""
    run = attributes.pop("run", lambda self, context: None)
    namespace = {"id": "some-ats", "name": "Some ATS", "kind": "ats",
                 "capabilities": frozenset({"import_workers"}), **attributes}
    if run is not None:
        namespace["run"] = run
    return type("Made", (Connector,), namespace)()


@pytest.mark.parametrize(("connector", "reason"), [
    ({"id": "dict-ats"}, "is not a plugins.Connector"),
    (ats(name=""), "name is empty"),
    (ats(capabilities=frozenset()), "declares no capabilities"),
    (ats(run=None), "declares import/export but does not implement run()"),
    (ats(settings=[("url", "URL")]), "setting ('url', 'URL') is not a plugins.Setting"),
    (ats(settings="url"), "settings must be a tuple of plugins.Setting, not str"),
    (ats(settings=(Setting("when", "When", type="time"),)), "has unknown type 'time'"),
    (ats(settings=(Setting("rate", "Rate", type="decimal", default="a lot"),)),
     "invalid default 'a lot': Rate must be a number"),
    (ats(settings=(Setting("from", "From", type="date", default="31/02/2026"),)),
     "invalid default '31/02/2026': From must be a date (YYYY-MM-DD)"),
    (ats(settings=(Setting("on", "On", type="boolean", default="maybe"),)),
     "invalid default 'maybe': On must be yes or no"),
], ids=["not-a-connector", "no-name", "no-capabilities", "no-run", "setting-not-a-setting",
        "settings-not-a-tuple", "unknown-setting-type", "bad-decimal-default",
        "bad-date-default", "bad-boolean-default"])
def test_a_connector_that_breaks_the_contract_is_refused_with_the_reason(host, connector,
                                                                         reason):
    host.add_plugin(Registers(connector), "careless")
    (message,) = refusals(host)
    assert reason in message
    assert host.connectors == {}


def test_defaults_of_every_type_that_are_values_of_their_type_are_accepted(host):
    settings = (Setting("rate", "Rate", type="decimal", default="12.50"),
                Setting("from", "From", type="date", default=dt.date(2026, 3, 1)),
                Setting("on", "On", type="boolean", default="yes"),
                Setting("off", "Off", type="boolean", default=False),
                Setting("quiet", "Quiet", type="boolean", default="no"))
    host.add_plugin(Registers(ats(settings=settings)), "careful")
    assert refusals(host) == []
    assert clean_settings(settings, {}) == {"rate": 12.5, "from": dt.date(2026, 3, 1),
                                            "on": True, "off": False, "quiet": False}


def test_a_setting_of_a_type_the_host_does_not_know_cannot_be_filled_in():
    with pytest.raises(SettingsError, match="When has an unknown type 'time'"):
        clean_settings((Setting("when", "When", type="time"),), {"when": "09:00"})


def test_a_connector_that_forgets_run_or_receive_event_says_which_one_by_its_id():
    class Bare(Connector):
        id = "bare-crm"

    with pytest.raises(NotImplementedError, match="'bare-crm' does not implement run"):
        Bare().run(None)
    with pytest.raises(NotImplementedError, match="'bare-crm' does not implement receive_event"):
        Bare().receive_event(event(), None)


def test_two_entry_points_naming_one_module_load_it_once_and_name_the_second(host):
    module = "tempclock.plugins.crm_push"
    host.load_entry_points([EntryPoint("crm_push", module, "tempclock"),
                            EntryPoint("crm_push_again", module, "tempclock")])
    assert list(host.connectors) == ["crm-push"]
    (problem,) = host.problems
    assert (problem.plugin, problem.stage) == ("crm_push_again", "register")
    assert problem.message.startswith("was refused: ")


def test_a_plugin_the_supervisor_quarantined_is_not_loaded_again(tmp_path):
    host = PluginHost(skip=["crm_push"])
    try:
        host.load_entry_points([EntryPoint("crm_push", "tempclock.plugins.crm_push", "tempclock"),
                                EntryPoint("ats_csv", "tempclock.plugins.ats_csv", "tempclock")])
        assert list(host.connectors) == ["ats-csv"] and host.problems == []
    finally:
        host.close()


def test_a_plugin_whose_package_is_uninstalled_while_the_host_starts_still_loads(
        host, tiny_site, tmp_path, monkeypatch):
    site = tmp_path / "site"
    shutil.copytree(tiny_site, site)
    monkeypatch.syspath_prepend(str(site))
    found = [point for dist in distributions(path=[str(site)])
             for point in dist.entry_points if point.group == "tempclock"]
    for metadata in site.glob("*.dist-info"):  # pip uninstall, half-way: the module stays
        shutil.rmtree(metadata)
    try:
        host.load_entry_points(found)
    finally:
        sys.modules.pop("tempclock_tiny_roster", None)
    assert list(host.connectors) == ["tiny-roster"] and host.problems == []


def test_a_plugins_folder_that_does_not_exist_is_reported(host, tmp_path):
    host.load_directory(tmp_path / "nowhere")
    (problem,) = host.problems
    assert (problem.stage, problem.message) == ("import", "plugins folder does not exist")


def test_a_plugins_folder_skips_private_files_and_reports_a_folder_named_like_a_module(
        host, tmp_path):
    (tmp_path / "_helpers.py").write_text("raise RuntimeError('not a plugin')\n")
    (tmp_path / "greeter.py").write_text(
        "from tempclock.plugins import hookimpl\n\n"
        "@hookimpl\ndef clock_in(event, context):\n    pass\n")
    (tmp_path / "notes.py").mkdir()
    host.load_directory(tmp_path)
    assert [p["name"] for p in host.plugins] == ["greeter"]
    (problem,) = host.problems
    assert (problem.plugin, problem.stage) == ("notes", "import")


def test_forgetting_or_quarantining_a_plugin_that_is_not_loaded_is_harmless(host):
    host.remove_plugin("never-loaded")
    host.quarantine("never-loaded")
    assert not host.is_quarantined("never-loaded") and host.plugins == []


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


def test_a_hook_raising_an_exception_that_cannot_be_printed_is_named_by_its_type(host):
    class Rude:
        @hookimpl
        def clock_in(self, event, context):
            raise Unprintable()

    host.add_plugin(Rude(), "rude")
    host.call_event_hooks(event(), None)
    (problem,) = host.problems
    assert (problem.plugin, problem.stage, problem.message) == ("rude", "clock_in",
                                                                 "raised Unprintable")


def test_a_problem_that_cannot_be_stored_is_still_kept_and_logged(caplog):
    # The plugin process stores problems with `_keep`; here no store is open to take them.
    host = PluginHost(on_problem=_keep)

    class Broken:
        @hookimpl
        def clock_in(self, event, context):
            raise ValueError("bad row")

    try:
        host.add_plugin(Broken(), "broken")
        with caplog.at_level(logging.WARNING, logger="tempclock.plugins"):
            host.call_event_hooks(event(), None)
    finally:
        host.close()
    assert [p.message for p in host.problems] == ["raised ValueError: bad row"]
    assert "could not keep the problem of plugin broken" in caplog.messages
