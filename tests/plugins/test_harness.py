"""The plugin authors' kit: the `tempclock` fixture, the contract version, the context's
additions (`ensure_location`, deliveries and logs in the plugin's name), hook settings."""

from __future__ import annotations

import logging

import pytest

from tempclock.plugins import PLUGIN_API_VERSION, Connector, Setting, hookimpl
from tempclock.plugins.testing import PluginFailed


class Greeter:
    """A hook-only plugin with a setting of its own."""

    TEMPCLOCK_SETTINGS = (Setting("greeting_url", "Where to say hello", type="url",
                                  default="https://hello.example.com/in"),)

    @hookimpl
    def clock_in(self, event, context):
        context.deliver(context.settings["greeting_url"], {"hello": event.data["worker_name"]})
        context.log(f"said hello to {event.data['worker_name']}")


def test_a_hook_plugin_hears_a_clock_in_and_its_delivery_is_queued_in_its_name(tempclock):
    tempclock.use(Greeter(), "greeter")
    site = tempclock.add_location("Leeds DC")
    ann = tempclock.add_worker("Ann", "Nowak", location=site)
    tempclock.clock_in(ann)
    assert tempclock.dispatch() >= 2  # worker_created, clock_in (and the site's)
    (sent,) = tempclock.deliveries()
    assert sent["connector"] == "greeter"
    assert (sent["url"], sent["payload"]) == ("https://hello.example.com/in",
                                              {"hello": "Ann Nowak"})


def test_a_hook_plugin_gets_the_settings_the_admin_saved_for_it(tempclock):
    tempclock.use(Greeter(), "greeter")
    tempclock.configure("greeter", {"greeting_url": "https://crm.example.org/hi"})
    tempclock.clock_in(tempclock.add_worker(location=tempclock.add_location()))
    tempclock.dispatch()
    assert [d["url"] for d in tempclock.deliveries()] == ["https://crm.example.org/hi"]


def test_a_hooks_log_lines_carry_the_plugins_name(tempclock, caplog):
    tempclock.use(Greeter(), "greeter")
    tempclock.clock_in(tempclock.add_worker(location=tempclock.add_location()))
    with caplog.at_level(logging.INFO, logger="tempclock.connectors"):
        tempclock.dispatch()
    assert "greeter: said hello to Ann Nowak" in caplog.messages


def test_two_different_payloads_for_one_event_and_url_are_both_sent(tempclock):
    class TwoMessages:
        @hookimpl
        def clock_in(self, event, context):
            context.deliver("https://crm.example.com/in", {"part": 1})
            context.deliver("https://crm.example.com/in", {"part": 2})
            context.deliver("https://crm.example.com/in", {"part": 2})  # a repeat: once

    tempclock.use(TwoMessages(), "two-messages")
    tempclock.clock_in(tempclock.add_worker(location=tempclock.add_location()))
    tempclock.dispatch()
    assert [d["payload"] for d in tempclock.deliveries()] == [{"part": 1}, {"part": 2}]


def test_two_different_payloads_carry_different_delivery_ids(tempclock):
    from tempclock.api.services import deliveries

    tempclock.use(Greeter(), "greeter")
    event_id = 1
    first = deliveries.queue_connector_delivery(tempclock.account_id, "greeter",
                                                "https://a.example.com/", {"n": 1},
                                                event_id=event_id)
    second = deliveries.queue_connector_delivery(tempclock.account_id, "greeter",
                                                 "https://a.example.com/", {"n": 2},
                                                 event_id=event_id)
    again = deliveries.queue_connector_delivery(tempclock.account_id, "greeter",
                                                "https://a.example.com/", {"n": 1},
                                                event_id=event_id)
    assert first != second and again == first
    ids = {row.message_id for row in deliveries.claim_due(10)}
    assert len(ids) == 2


def test_a_hook_that_raises_fails_the_test_with_its_traceback(tempclock):
    class Broken:
        @hookimpl
        def worker_created(self, event, context):
            raise KeyError("no such column")

    tempclock.use(Broken(), "broken")
    tempclock.add_worker()
    with pytest.raises(PluginFailed, match=r"(?s)'broken' \(worker_created\).*KeyError"):
        tempclock.dispatch()


class Importer(Connector):
    id = "site-importer"
    name = "Site importer"
    kind = "ats"
    capabilities = frozenset({"import_workers"})
    settings = (Setting("site", "Site", required=True), Setting("zone", "Time zone"))

    def run(self, context):
        site = context.ensure_location(context.settings["site"],
                                       timezone=context.settings["zone"] or None)
        context.upsert_worker({"employee_ref": "E1", "first_name": "Ann", "last_name": "Nowak",
                               "location_id": site["id"]})


def test_ensure_location_finds_a_site_by_name_in_any_case(tempclock):
    site = tempclock.add_location("Leeds DC")
    run = tempclock.run(Importer(), {"site": "LEEDS dc"})
    assert run.status == "succeeded"
    assert [w["location_id"] for w in tempclock.workers()] == [site["id"]]
    assert len(tempclock.context().locations()) == 1


def test_ensure_location_creates_a_missing_site_in_the_zone_the_others_share(tempclock):
    tempclock.add_location("Leeds DC", timezone="America/New_York")
    assert tempclock.run(Importer(), {"site": "Newark"}).status == "succeeded"
    made = {s["name"]: s["timezone"] for s in tempclock.context().locations()}
    assert made == {"Leeds DC": "America/New_York", "Newark": "America/New_York"}


def test_ensure_location_asks_for_a_zone_when_there_is_nothing_to_go_by(tempclock):
    run = tempclock.run(Importer(), {"site": "Newark"})
    assert run.status == "failed"
    assert "time zone" in run.message
    assert tempclock.context().locations() == []


def test_ensure_location_refuses_a_zone_that_does_not_exist(tempclock):
    run = tempclock.run(Importer(), {"site": "Newark", "zone": "Mars/Olympus"})
    assert run.status == "failed" and "Mars/Olympus" in run.message


def test_ensure_location_writes_nothing_in_a_dry_run(tempclock):
    run = tempclock.run(Importer(), {"site": "Newark", "zone": "Europe/London"}, dry_run=True)
    assert run.status == "succeeded"
    assert tempclock.context().locations() == []


def test_the_harness_store_ignores_the_database_url_of_the_environment(tmp_path, monkeypatch):
    from tempclock.plugins.testing import TempClock

    monkeypatch.setenv("TEMPCLOCK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    harness = TempClock(tmp_path / "data")
    try:
        assert harness.config.database_url is None
        assert (tmp_path / "data" / "tempclock.db").exists()
    finally:
        harness.close()


class TooNew:
    TEMPCLOCK_PLUGIN_API = ">=2,<3"

    @hookimpl
    def clock_in(self, event, context):
        pass


def test_a_plugin_made_for_another_contract_version_is_refused_by_name(tempclock):
    with pytest.raises(PluginFailed) as refused:
        tempclock.use(TooNew(), "too-new")
    message = str(refused.value)
    assert "'too-new'" in message and ">=2,<3" in message and PLUGIN_API_VERSION in message


def test_a_plugin_within_its_declared_range_loads(tempclock):
    class Current:
        TEMPCLOCK_PLUGIN_API = ">=1,<2"

        @hookimpl
        def clock_in(self, event, context):
            pass

    tempclock.use(Current(), "current")
    assert [p["name"] for p in tempclock.host.plugins] == ["current"]


def test_a_plugin_with_a_range_that_is_not_a_range_is_refused(tempclock):
    class Garbled:
        TEMPCLOCK_PLUGIN_API = "one point oh"

    with pytest.raises(PluginFailed, match="not a version range"):
        tempclock.use(Garbled(), "garbled")


def test_a_hook_plugin_with_a_malformed_setting_is_refused(tempclock):
    class BadSettings:
        TEMPCLOCK_SETTINGS = (Setting("mode", "Mode", type="choice"),)

    with pytest.raises(PluginFailed, match="choice without choices"):
        tempclock.use(BadSettings(), "bad-settings")


def test_a_run_that_fails_after_writing_ends_failed_and_keeps_what_it_wrote(tempclock):
    """Each write call commits before it returns (a run never holds the store while the
    connector's own code runs), so what was written before the failure stays, as the
    admin's run history says ("failed", with its counts)."""
    class WritesThenFails(Connector):
        id = "writes-then-fails"
        name = "Writes then fails"
        kind = "ats"
        capabilities = frozenset({"import_workers"})

        def run(self, context):
            context.upsert_worker({"employee_ref": "E1", "first_name": "Ann",
                                   "last_name": "Nowak"})
            raise ValueError("the ATS file ends half-way")

    run = tempclock.run(WritesThenFails())
    assert (run.status, run.message) == ("failed", "the ATS file ends half-way")
    assert [w["employee_ref"] for w in tempclock.workers()] == ["E1"]


def test_a_hook_plugins_settings_are_checked_when_saved(tempclock):
    tempclock.use(Greeter(), "greeter")
    with pytest.raises(ValueError, match="must be an http"):
        tempclock.configure("greeter", {"greeting_url": "ftp://files.example.com/"})
    with pytest.raises(PluginFailed, match="No plugin 'nobody'"):
        tempclock.configure("nobody", {})


def test_the_plugin_contract_never_imports_the_host_only_the_test_kit_drives_it():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "plugins"
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "tempclock.api" or n.startswith("tempclock.api.") for n in names):
                importers.add(path.relative_to(root).as_posix())
    assert importers == {"testing.py"}


def test_refusals_reach_a_plugins_test_as_value_errors_in_words(tempclock):
    ann = tempclock.add_worker(location=tempclock.add_location())
    tempclock.clock_in(ann)
    with pytest.raises(ValueError, match="already clocked in"):
        tempclock.clock_in(ann)
    with pytest.raises(ValueError, match="time zone|timezone"):
        tempclock.add_location("Nowhere", timezone="Mars/Olympus")


def test_running_a_connector_object_then_loading_its_plugin_does_not_clash(tempclock, tmp_path):
    class Tiny(Connector):
        id = "tiny"
        name = "Tiny"
        kind = "ats"
        capabilities = frozenset({"import_workers"})

        def run(self, context):
            context.count("ran")

    class TinyPlugin:
        @hookimpl
        def register_connectors(self, register):
            register(Tiny())

    assert tempclock.run(Tiny()).counts == {"ran": 1}
    tempclock.use(TinyPlugin(), "tiny_plugin")
    assert tempclock.run("tiny").counts == {"ran": 1}
    assert tempclock.enable(Tiny()) == {}
