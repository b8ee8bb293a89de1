"""`tempclock serve` with a plugin whose hook hangs past its time budget, installed for real:
the plugin is cut off and named, its plugin process starts afresh without it, and a
well-behaved plugin beside it hears every event before and after."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tempclock.api.services import accounts, keys, locations, plugin_problems, workers
from tempclock.api.store.models import DispatchCursor
from tests.integration.serving import Server, children_of
from tests.plugins.untrusted_packages import install

pytestmark = pytest.mark.sqlite_only

BUDGET_S = 1.0
WAIT_S = 30.0  # generous: a loaded two-core CI box under coverage


def wait_until(condition, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def heard(path: Path) -> set[int]:
    """The entry ids whose clock_in the well-behaved plugin heard."""
    if not path.exists():
        return set()
    return {int(line.split()[0]) for line in path.read_text().splitlines() if line.strip()}


def plugin_processes(served: Server) -> set[int]:
    """The plugin process(es) under serve's dispatcher (Linux)."""
    return {pid for dispatcher in children_of(served.process.pid)
            for pid in children_of(dispatcher)}


def test_a_hook_hung_past_its_budget_is_cut_off_and_its_process_restarted_without_it(
        tmp_path, tmp_path_factory, config, store, monkeypatch):
    site_packages = install(tmp_path_factory.mktemp("site"), "hangs_in_hook", "listener")
    heard_file = tmp_path / "heard.txt"
    monkeypatch.setenv("PYTHONPATH", str(site_packages))
    monkeypatch.setenv("HEARD_FILE", str(heard_file))
    monkeypatch.setenv("TEMPCLOCK_PLUGIN_TIME_BUDGET", str(BUDGET_S))
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    ann, bob = (workers.create_worker(account.id, workers.WorkerCreate(
        first_name=name, last_name="Nowak", location_id=site.id)) for name in ("Ann", "Bob"))
    key = keys.issue_key(account.id, "ATS").plaintext

    served = Server(config, tmp_path / "serve.log", own_group=True)
    log = (tmp_path / "serve.log").read_text
    try:
        assert wait_until(lambda: DispatchCursor.get_or_none(
            DispatchCursor.name == "plugins") is not None), log()
        assert wait_until(lambda: len(plugin_processes(served)) == 1), log()
        (first_process,) = plugin_processes(served)
        with httpx.Client(base_url=f"{served.url}/api/v1", timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as api:
            first = api.post("/clock", json={"worker_id": ann.id, "action": "in"})
            assert first.status_code == 201, first.text
            assert wait_until(lambda: first.json()["data"]["id"] in heard(heard_file)), log()
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
            assert wait_until(lambda: second.json()["data"]["id"] in heard(heard_file)), log()
    finally:
        served.stop()
    crashes = [p for p in plugin_problems.list_problems() if p.stage == "crash"]
    assert crashes == []  # cut off by its budget, not blamed for a crash


def test_a_plugin_hung_while_being_imported_is_blamed_and_the_others_load_without_it(
        tmp_path, tmp_path_factory, config, store, monkeypatch):
    site_packages = install(tmp_path_factory.mktemp("site"), "hangs_at_import", "listener")
    heard_file = tmp_path / "heard.txt"
    monkeypatch.setenv("PYTHONPATH", str(site_packages))
    monkeypatch.setenv("HEARD_FILE", str(heard_file))
    monkeypatch.setenv("TEMPCLOCK_PLUGIN_TIME_BUDGET", str(BUDGET_S))
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    ann = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", location_id=site.id))
    key = keys.issue_key(account.id, "ATS").plaintext

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
                            headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert answer.status_code == 201, answer.text
        assert wait_until(lambda: answer.json()["data"]["id"] in heard(heard_file)), log()
    finally:
        served.stop()
