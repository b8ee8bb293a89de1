"""`tempclock serve` as an integrator meets it: the API.md curl examples, and graceful stops."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys

import httpx
import pytest
from serving import Server

from tempclock.api.server import exposure_warning
from tempclock.api.services import accounts, api_logs, keys, locations, workers


@pytest.fixture
def agency(store):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    sites = [locations.create_location(account.id, locations.LocationCreate(
        name=f"Site {n}", timezone="Europe/London")) for n in range(1, 4)]
    for n in range(1, 143):
        workers.create_worker(account.id, workers.WorkerCreate(
            first_name=f"W{n}", last_name="Temp", location_id=sites[n % 3].id,
            active=n % 7 != 0))
    key = keys.issue_key(account.id, "TempClock integration").plaintext
    return account, key


def curl(*args: str) -> dict:
    done = subprocess.run(["curl", "-s", *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_tempclock_curl_examples_work_unchanged(config, agency, tmp_path):
    _, key = agency
    served = Server(config, tmp_path / "serve.log")
    try:
        auth = f"Authorization: Bearer {key}"
        base = f"{served.url}/api/v1"
        listed = curl("-H", auth, f"{base}/workers.php?active=1&location_id=3&limit=2")
        assert len(listed["data"]) == 2
        assert all(w["location_id"] == 3 and w["active"] for w in listed["data"])
        assert listed["pagination"]["limit"] == 2 and listed["pagination"]["has_more"] is True
        one = curl("-H", auth, f"{base}/workers.php?id=142")
        assert one["data"]["id"] == 142
        # curl -d sends a form content type; the body is read as JSON all the same.
        clocked = curl("-X", "POST", "-H", auth, "-d", '{"worker_id": 142, "action": "in"}',
                       f"{base}/clock.php")
        assert clocked["data"]["worker_id"] == 142 and clocked["data"]["clock_out"] is None
    finally:
        served.stop()


def test_a_graceful_stop_loses_no_log_entry(config, agency, tmp_path):
    _, key = agency
    sent: list[tuple[str, int]] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        served = Server(config, tmp_path / f"serve-{sig.name}.log")
        with httpx.Client(base_url=f"{served.url}/api/v1",
                          headers={"Authorization": f"Bearer {key}"}) as client:
            for n in range(150):  # past the key's 60 a minute: its 429s are tallied per minute
                response = client.get(f"/workers?offset={n}&limit=1")
                sent.append((response.headers["x-request-id"], response.status_code))
        served.stop(sig)  # exits 0, having shut down gracefully
        assert "Application shutdown complete" in served.output, served.output
        logs = api_logs.list_logs(limit=10_000)
        answered = {request_id for request_id, status in sent if status == 200}
        lost = answered - {e.request_id for e in logs}
        assert not lost, f"{len(lost)} entries lost after {sig!r}"
        assert sum(e.count for e in logs) == len(sent), f"refusals lost after {sig!r}"
    assert keys.list_keys()[0].last_used_at is not None


def test_serving_beyond_this_pc_comes_with_a_warning():
    assert exposure_warning("127.0.0.1", 8787) is None
    assert exposure_warning("localhost", 8787) is None
    assert exposure_warning("::1", 8787) is None
    warning = exposure_warning("0.0.0.0", 8787)  # noqa: S104
    assert warning is not None and "exposed" in warning
    assert exposure_warning("192.168.1.20", 8787) is not None


def tempclock(config, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tempclock.api.cli", *args, "--json",
                           "--data-dir", str(config.data_dir)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_tempclock_logs_filters_what_the_server_recorded(config, agency, tmp_path):
    account, key = agency
    served = Server(config, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=f"{served.url}/api/v1") as client:
            good = {"Authorization": f"Bearer {key}"}
            assert client.get("/workers?limit=1", headers=good).status_code == 200
            assert client.get("/workers/99999", headers=good).status_code == 404
            bad = {"Authorization": f"Bearer {keys.generate_key()}"}
            assert client.get("/workers", headers=bad).status_code == 401
    finally:
        served.stop()
    everything = tempclock(config, "logs")["logs"]
    assert [e["status"] for e in everything] == [401, 404, 200]  # newest first
    assert [e["status"] for e in tempclock(config, "logs", "--status", "4xx")["logs"]] == [
        401, 404]
    assert [e["error_code"] for e in tempclock(config, "logs", "--status", "401")["logs"]] == [
        "key_unknown"]
    key_id = keys.list_keys(account.id)[0].id
    mine = tempclock(config, "logs", "--key", str(key_id))["logs"]
    assert [e["status"] for e in mine] == [404, 200]
    assert len(tempclock(config, "logs", "--account", str(account.id), "--since", "1h")["logs"]
               ) == 2
    assert tempclock(config, "logs", "--since", "2999-01-01")["logs"] == []
    text = subprocess.run([sys.executable, "-m", "tempclock.api.cli", "logs", "--data-dir",
                           str(config.data_dir)], capture_output=True, text=True, check=True)
    assert "/api/v1/workers" in text.stdout and key not in text.stdout
