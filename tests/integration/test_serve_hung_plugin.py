"""`tempclock serve` with a plugin whose hook hangs past its time budget, installed for real:
the plugin is cut off and named, its plugin process starts afresh without it, and a
well-behaved plugin beside it hears every event before and after."""

from __future__ import annotations

import httpx
import pytest
from waiting import wait_until

from tempclock.api.services import plugin_problems
from tempclock.api.store.models import DispatchCursor
from tests.integration.serving import Server, children_of
from tests.plugins.untrusted_packages import install, plugin_agency

pytestmark = pytest.mark.sqlite_only

BUDGET_S = 1.0




def plugin_processes(served: Server) -> set[int]:
    """The plugin process(es) under serve's dispatcher (Linux)."""
    return {pid for dispatcher in children_of(served.process.pid)
            for pid in children_of(dispatcher)}


def test_a_hook_hung_past_its_budget_is_cut_off_and_its_process_restarted_without_it(
        tmp_path, tmp_path_factory, config, store, monkeypatch):
    agency = plugin_agency(install(tmp_path_factory.mktemp("site"), "hangs_in_hook", "listener"),
                           tmp_path, monkeypatch, budget_s=BUDGET_S, names=("Ann", "Bob"))
    ann, bob = agency.workers

    served = Server(config, tmp_path / "serve.log", own_group=True)
    log = (tmp_path / "serve.log").read_text
    try:
        assert wait_until(lambda: DispatchCursor.get_or_none(
            DispatchCursor.name == "plugins") is not None), log()
        assert wait_until(lambda: len(plugin_processes(served)) == 1), log()
        (first_process,) = plugin_processes(served)
        with httpx.Client(base_url=f"{served.url}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {agency.key}"}) as api:
            first = api.post("/clock", json={"worker_id": ann.id, "action": "in"})
            assert first.status_code == 201, first.text
            assert wait_until(lambda: first.json()["data"]["id"] in agency.heard()), log()
            # The hung hook overruns its budget: it is named, and its process replaced.
            assert wait_until(lambda: any(
                p.plugin == "hangs_in_hook" and p.stage == "clock_in"
                and p.message == f"did not return within {BUDGET_S:g} s; it will not be "
                                 "called again until TempClock restarts"
                for p in plugin_problems.list_problems())), (plugin_problems.list_problems(),
                                                             log())
            assert wait_until(lambda: plugin_processes(served) - {first_process}), log()
            second = api.post("/clock", json={"worker_id": bob.id, "action": "in"})
            assert second.status_code == 201, second.text
            assert wait_until(lambda: second.json()["data"]["id"] in agency.heard()), log()
    finally:
        served.stop()
    crashes = [p for p in plugin_problems.list_problems() if p.stage == "crash"]
    assert crashes == []  # cut off by its budget, not blamed for a crash


def test_a_plugin_hung_while_being_imported_is_blamed_and_the_others_load_without_it(
        tmp_path, tmp_path_factory, config, store, monkeypatch):
    agency = plugin_agency(install(tmp_path_factory.mktemp("site"), "hangs_at_import",
                                   "listener"), tmp_path, monkeypatch, budget_s=BUDGET_S)
    (ann,) = agency.workers

    served = Server(config, tmp_path / "serve.log", own_group=True)
    log = (tmp_path / "serve.log").read_text
    try:
        # Stuck in its import well past its budget: its process is killed, and it is blamed.
        assert wait_until(lambda: any(
            p.plugin == "hangs_at_import" and p.stage == "crash"
            and p.message.startswith("the plugin process died (signal 9) while this plugin "
                                     "was running")
            and p.message.endswith("it will not be called again until TempClock restarts")
            for p in plugin_problems.list_problems())), (plugin_problems.list_problems(), log())
        assert "stuck for more than" in log()
        answer = httpx.post(f"{served.url}/api/v1/clock",
                            json={"worker_id": ann.id, "action": "in"},
                            headers={"Authorization": f"Bearer {agency.key}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        assert wait_until(lambda: answer.json()["data"]["id"] in agency.heard()), log()
    finally:
        served.stop()
