"""The plugin host: discovers connectors by entry point and isolates plugins that misbehave."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from importlib.metadata import EntryPoint

import pytest

from tempclock.plugins import Connector, Setting, hookimpl
from tempclock.plugins.connectors import Event
from tempclock.plugins.manager import PluginHost, load_plugins


class Good(Connector):
    id = "good-ats"
    name = "Good ATS"
    kind = "ats"
    capabilities = frozenset({"import_workers"})

    def run(self, context):
        context.count("ran")


class GoodPlugin:
    @hookimpl
    def register_connectors(self, register):
        register(Good())


def event(kind: str = "clock_in") -> Event:
    return Event(id=1, type=kind, account_id=1, created_at=dt.datetime.now(dt.UTC), data={})


def test_first_party_connectors_load_through_their_entry_points():
    host = load_plugins()
    try:
        assert {"ats-csv", "payroll-csv", "crm-push"} <= set(host.connectors)
        ats = host.connectors["ats-csv"]
        assert ats.connector.kind == "ats"
        assert ats.package == "tempclock"  # found as an installed distribution's entry point
        assert host.connectors["payroll-csv"].connector.kind == "payroll"
        assert host.connectors["crm-push"].connector.kind == "crm"
        assert host.problems == []
    finally:
        host.close()


def test_an_installed_connector_package_is_discovered(tiny_installed):
    host = load_plugins()
    try:
        tiny = host.connector("tiny-roster")
        assert (tiny.package, tiny.package_version) == ("tempclock-tiny-roster", "0.3.1")
        assert tiny.plugin == "tiny_roster"
    finally:
        host.close()


def test_a_plugin_that_fails_to_import_is_reported_and_the_rest_load(host, tmp_path,
                                                                      monkeypatch):
    (tmp_path / "exploding_plugin.py").write_text("raise RuntimeError('missing licence file')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [EntryPoint("exploding", "exploding_plugin", "tempclock"),
              EntryPoint("ats_csv", "tempclock.plugins.ats_csv", "tempclock")]
    host.load_entry_points(points)
    (problem,) = host.problems
    assert (problem.plugin, problem.stage) == ("exploding", "import")
    assert "missing licence file" in problem.message
    assert "ats-csv" in host.connectors


def test_a_plugin_that_raises_while_registering_is_reported(host):
    class Raises:
        @hookimpl
        def register_connectors(self, register):
            raise KeyError("config")

    host.add_plugin(Raises(), "raises")
    host.add_plugin(GoodPlugin(), "good")
    assert [p.plugin for p in host.problems] == ["raises"]
    assert "KeyError" in host.problems[0].message
    assert "good-ats" in host.connectors


@pytest.mark.parametrize(
    ("attributes", "words"),
    [
        ({"kind": "hr"}, "kind 'hr'"),
        ({"id": "Bad Id"}, "id 'Bad Id'"),
        ({"capabilities": frozenset({"teleport"})}, "unknown capabilities"),
        ({"settings": (Setting("a", "A"), Setting("a", "A again"))}, "declared twice"),
        ({"settings": (Setting("mode", "Mode", type="choice"),)}, "without choices"),
        ({"capabilities": frozenset({"receive_events"})}, "receive_event()"),
    ],
)
def test_a_badly_declared_connector_is_refused_with_the_reason(host, attributes, words):
    bad = type("Bad", (Good,), attributes)()

    class Plugin:
        @hookimpl
        def register_connectors(self, register):
            register(bad)
            register(Good())

    host.add_plugin(Plugin(), "mixed")
    assert words in host.problems[0].message
    assert "good-ats" in host.connectors  # its good connector still loads


def test_two_connectors_cannot_share_an_id(host):
    host.add_plugin(GoodPlugin(), "first")
    host.add_plugin(GoodPlugin(), "second")
    assert "already used by plugin 'first'" in host.problems[0].message
    assert host.connectors["good-ats"].plugin == "first"


def test_a_plugin_implementing_an_unknown_hook_is_refused(host):
    class Typo:
        @hookimpl
        def clockin(self, event, context):
            pass

    assert host.add_plugin(Typo(), "typo") is False
    assert "clockin" in host.problems[0].message


def test_a_hook_that_raises_is_reported_and_other_plugins_still_hear_the_event(host):
    heard = []

    class Raises:
        @hookimpl
        def clock_in(self, event, context):
            raise ValueError("cannot parse entry")

    class Listens:
        @hookimpl
        def clock_in(self, event, context):
            heard.append(event.id)

    host.add_plugin(Raises(), "raises")
    host.add_plugin(Listens(), "listens")
    host.call_event_hooks(event(), context=None)
    host.call_event_hooks(event(), context=None)
    assert heard == [1, 1]
    assert [(p.plugin, p.stage) for p in host.problems] == [("raises", "clock_in")] * 2


def test_a_hook_that_hangs_is_cut_off_and_not_called_again(host):
    release = threading.Event()
    calls = []

    class Hangs:
        @hookimpl
        def clock_out(self, event, context):
            calls.append(1)
            release.wait(30)

    host.hook_timeout = 0.2
    host.add_plugin(Hangs(), "hangs")
    try:
        host.call_event_hooks(event("clock_out"), context=None)
        host.call_event_hooks(event("clock_out"), context=None)
    finally:
        release.set()
    assert calls == [1]
    assert "did not return within 0.2 s" in host.problems[0].message
    assert host.plugins[0]["hung"] is True


def test_hook_calls_are_traced_when_asked(caplog, monkeypatch):
    monkeypatch.setenv("TEMPCLOCK_TRACE_HOOKS", "1")
    host = PluginHost()
    try:
        with caplog.at_level(logging.INFO, logger="tempclock.plugins"):
            host.add_plugin(GoodPlugin(), "good")
        assert any("register_connectors" in r.getMessage() for r in caplog.records)
    finally:
        host.close()


def test_removing_a_plugin_forgets_its_connectors(host):
    host.add_plugin(GoodPlugin(), "good")
    host.remove_plugin("good")
    assert "good-ats" not in host.connectors
    with pytest.raises(KeyError, match="No connector 'good-ats'"):
        host.connector("good-ats")
