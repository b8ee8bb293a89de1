"""`tempclock serve` delivers webhooks from a process of its own, and takes it down when it stops."""

from __future__ import annotations

import json

import httpx
from waiting import wait_until

from tempclock.api.services import keys, webhooks
from tests.conftest import allow_internal_targets
from tests.integration.serving import Server, children_of, running


def test_a_clock_in_through_the_api_reaches_a_webhook_receiver(config, account, worker,
                                                               receiver, tmp_path):
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
    assert wait_until(lambda: not any(running(pid) for pid in dispatchers), 15), (
        "the dispatcher outlived serve")
    assert webhooks.get_webhook(account.id, hook.id).recent_deliveries[0].state == "delivered"
