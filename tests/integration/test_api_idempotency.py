"""Idempotency-Key: a retried create returns the first response and creates nothing."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from api_tenants import make_tenant

from tempclock.api.services import workers
from tempclock.api.store.models import IdempotencyRecord, utcnow


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def test_a_retried_clock_in_returns_the_first_response_and_opens_nothing_more(client, tenant):
    headers = key()
    body = {"worker_id": tenant.worker.id, "action": "in"}
    first = client.post("/clock", json=body, headers=headers)
    retry = client.post("/clock.php", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    entries = client.get(f"/timesheets?worker_id={tenant.worker.id}&entry_filter=all").json()
    assert entries["pagination"]["total"] == 1


def test_the_same_key_with_another_body_is_refused(client, tenant):
    headers = key()
    assert client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"},
                       headers=headers).status_code == 201
    refused = client.post("/clock", json={"worker_id": tenant.worker.id, "action": "out"},
                          headers=headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(("path", "body"), [
    ("/workers", {"first_name": "Retry", "last_name": "Safe"}),
    ("/webhooks", {"url": "https://ats.example/hooks", "events": ["clock_in"]}),
])
def test_creates_are_not_repeated(client, tenant, path, body):
    headers = key()
    first = client.post(path, json=body, headers=headers)
    second = client.post(path, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["data"] == {**first.json()["data"], **(
        {"secret": None} if path == "/webhooks" else {})}  # a secret is shown once
    assert client.get(path).json()["pagination"]["total"] == (
        2 if path == "/workers" else 1)  # the tenant's own worker plus one


def test_a_shift_create_is_not_repeated(client, tenant):
    headers = key()
    start = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    body = {"location_id": tenant.site.id, "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=6)).isoformat()}
    first = client.post("/shifts", json=body, headers=headers)
    second = client.post("/shifts", json=body, headers=headers)
    assert first.status_code == 201 and second.json() == first.json()
    assert client.get("/shifts").json()["pagination"]["total"] == 1


def test_a_failed_request_keeps_nothing_so_its_retry_runs(client, tenant):
    headers = key()
    body = {"worker_id": tenant.worker.id, "action": "out"}
    assert client.post("/clock", json=body, headers=headers).status_code == 409
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    assert client.post("/clock", json=body, headers=headers).status_code == 200


def test_keys_are_per_account(api, client, tenant):
    headers = key()
    body = {"first_name": "Same", "last_name": "Key"}
    mine = client.post("/workers", json=body, headers=headers).json()["data"]
    other = make_tenant()
    with api.client(other.key) as theirs:
        their = theirs.post("/workers", json=body, headers=headers)
    assert their.status_code == 201 and their.json()["data"]["id"] != mine["id"]
    assert workers.list_workers(other.account_id).pagination.total == 2


def test_keys_expire_after_a_day(client, tenant):
    headers = key()
    body = {"first_name": "Day", "last_name": "Old"}
    first = client.post("/workers", json=body, headers=headers).json()["data"]
    (IdempotencyRecord.update(created_at=utcnow() - dt.timedelta(hours=25))
     .where(IdempotencyRecord.key == headers["Idempotency-Key"]).execute())
    again = client.post("/workers", json=body, headers=headers).json()["data"]
    assert again["id"] != first["id"]
