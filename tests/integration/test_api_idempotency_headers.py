"""An Idempotency-Key sent twice in one request is refused: which of the two a client or a
proxy puts first varies between retries, and each order would create the thing again."""

from __future__ import annotations


def test_two_idempotency_keys_in_one_request_are_refused_and_create_nothing(client, tenant):
    for order in (("first", "second"), ("second", "first")):
        headers = [("Idempotency-Key", value) for value in order]
        response = client.post("/webhooks", headers=headers,
                               json={"url": "https://example.com/hook", "events": ["*"]})
        assert response.status_code == 400, response.text
        problem = response.json()
        assert problem["code"] == "invalid_idempotency_key"
        assert "one Idempotency-Key" in problem["message"]
    assert client.get("/webhooks").json()["data"] == []
    clock = client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"},
                        headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "a")])
    assert clock.status_code == 400, clock.text
    entries = client.get(f"/timesheets?worker_id={tenant.worker.id}&entry_filter=all").json()
    assert entries["pagination"]["total"] == 0


def test_one_idempotency_key_still_replays_the_first_response(client, tenant):
    body = {"worker_id": tenant.worker.id, "action": "in"}
    first = client.post("/clock", json=body, headers={"Idempotency-Key": "once"})
    retry = client.post("/clock", json=body, headers={"Idempotency-Key": "once"})
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
