"""`tempclock serve` delivers webhooks from a process of its own, and takes it down when it stops."""

from __future__ import annotations

import json
import time

import httpx

from tempclock.api.services import accounts, keys, locations, webhooks, workers
from tests.conftest import allow_internal_targets
from tests.integration.serving import Server, children_of, running


def test_a_clock_in_through_the_api_reaches_a_webhook_receiver(config, store, receiver,
                                                               tmp_path):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(name="Leeds DC", timezone="Europe/London"))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", location_id=site.id))
    allow_internal_targets(account.id)  # the receiver is on this PC
    hook = webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url=f"{receiver.url}/tempclock", events=["clock_in"]))
    key = keys.issue_key(account.id, "ATS").plaintext
    served = Server(config, tmp_path / "serve.log")
    try:
        answer = httpx.post(f"{served.url}/api/v1/clock.php", json={
            "worker_id": worker.id, "action": "in"}, headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 201
        (request,) = receiver.wait_for(1, timeout=30)
        body = json.loads(request["body"])
        assert (body["event"], body["data"]["id"]) == ("clock_in", answer.json()["data"]["id"])
        assert request["headers"]["X-TempClock-Signature"].startswith("sha256=")
        dispatchers = children_of(served.process.pid)
        assert dispatchers, "serve runs the dispatcher in a child process"
    finally:
        served.stop()
    deadline = time.monotonic() + 15
    while any(running(pid) for pid in dispatchers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(running(pid) for pid in dispatchers), "the dispatcher outlived serve"
    assert webhooks.get_webhook(account.id, hook.id).recent_deliveries[0].state == "delivered"
