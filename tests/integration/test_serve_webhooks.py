"""`tempclock serve` delivers webhooks from a process of its own, and takes it down when it stops."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx

from tempclock.api.services import accounts, keys, locations, webhooks, workers
from tests.conftest import allow_internal_targets
from tests.integration.test_api_serve import Served


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_a_clock_in_through_the_api_reaches_a_webhook_receiver(config, store, receiver):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(name="Leeds DC", timezone="Europe/London"))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", location_id=site.id))
    allow_internal_targets(account.id)  # the receiver is on this PC
    hook = webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url=f"{receiver.url}/tempclock", events=["clock_in"]))
    key = keys.issue_key(account.id, "ATS").plaintext
    served = Served(config)
    try:
        answer = httpx.post(f"{served.url}/api/v1/clock.php", json={
            "worker_id": worker.id, "action": "in"}, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 201
        (request,) = receiver.wait_for(1, timeout=30)
        body = json.loads(request["body"])
        assert (body["event"], body["data"]["id"]) == ("clock_in", answer.json()["data"]["id"])
        assert request["headers"]["X-TempClock-Signature"].startswith("sha256=")
        dispatchers = children(served.process.pid)
        assert dispatchers, "serve runs the dispatcher in a child process"
    finally:
        served.stop(signal.SIGTERM)
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in dispatchers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in dispatchers), "the dispatcher outlived serve"
    assert webhooks.get_webhook(account.id, hook.id).recent_deliveries[0].state == "delivered"
