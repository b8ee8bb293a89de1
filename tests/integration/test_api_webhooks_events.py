"""Webhook subscriptions and the events feed."""

from __future__ import annotations

import pytest

from tempclock.api.store.models import WebhookDelivery
from tests.conftest import allow_internal_targets

PATH_STYLES = ["", ".php"]


@pytest.mark.parametrize("style", PATH_STYLES)
def test_a_subscription_is_created_with_its_secret_shown_once(client, style):
    created = client.post(f"/webhooks{style}", json={
        "url": "https://ats.example/tempclock", "events": ["clock_in", "clock_out"],
        "description": "ATS sync"})
    assert created.status_code == 201, created.text
    hook = created.json()["data"]
    assert hook["secret"].startswith("whsec_")
    assert hook["events"] == ["clock_in", "clock_out"] and hook["active"] is True
    listed = client.get(f"/webhooks{style}").json()
    assert [h["id"] for h in listed["data"]] == [hook["id"]]
    assert "secret" not in listed["data"][0]
    one = client.get(f"/webhooks{style}?id={hook['id']}").json()["data"]
    assert "secret" not in one and one["recent_deliveries"] == []
    assert hook["secret"] not in client.get(f"/webhooks/{hook['id']}").text


@pytest.mark.parametrize("style", PATH_STYLES)
def test_a_subscription_is_updated_pinged_and_deleted(client, style):
    hook = client.post("/webhooks", json={"url": "https://ats.example/a"}).json()["data"]
    assert hook["events"] == ["*"]
    updated = client.put(f"/webhooks{style}?id={hook['id']}", json={
        "url": "https://ats.example/b", "events": ["worker_created"], "active": False,
        "description": "moved"})
    assert updated.status_code == 200
    assert {k: updated.json()["data"][k] for k in ("url", "events", "active", "description")} == {
        "url": "https://ats.example/b", "events": ["worker_created"], "active": False,
        "description": "moved"}
    assert client.put(f"/webhooks/{hook['id']}", json={"active": True}).json()["data"]["active"]
    ping = client.post(f"/webhooks/{hook['id']}/ping")
    assert ping.status_code == 202
    queued = ping.json()["data"]
    delivery = WebhookDelivery.get_by_id(queued["delivery_id"])
    assert (delivery.subscription_id, delivery.event_type, delivery.state) == (
        hook["id"], "ping", "pending")
    detail = client.get(f"/webhooks/{hook['id']}").json()["data"]
    assert [d["event"] for d in detail["recent_deliveries"]] == ["ping"]
    assert client.delete(f"/webhooks{style}?id={hook['id']}").status_code == 200
    assert client.get(f"/webhooks/{hook['id']}").status_code == 404


def test_plain_http_is_refused_except_to_loopback_when_internal_targets_are_allowed(client,
                                                                                  tenant):
    refused = client.post("/webhooks", json={"url": "http://ats.example/hook"})
    assert refused.status_code == 400 and refused.json()["code"] == "webhook_url_insecure"
    allow_internal_targets(tenant.account_id)
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/x"):
        assert client.post("/webhooks", json={"url": url}).status_code == 201, url
    for url in ("ftp://ats.example/x", "https://", "not a url"):
        assert client.post("/webhooks", json={"url": url}).status_code == 400, url


def test_unknown_event_names_are_refused(client):
    refused = client.post("/webhooks", json={"url": "https://a.example/", "events": ["nope"]})
    assert refused.status_code == 400 and "nope" in refused.json()["message"]
    assert client.post("/webhooks", json={"url": "https://a.example/", "events": [
        "clock.geofence_breach", "clock.geofence_refused", "clock.low_gps_confidence", "ping",
        "shift_created", "worker_updated"]}).status_code == 201


def test_updating_or_deleting_needs_an_id(client):
    assert client.put("/webhooks", json={"active": False}).status_code == 400
    assert client.delete("/webhooks.php").status_code == 400


def test_the_events_feed_lists_every_change_in_order_after_an_id(client, tenant):
    start = client.get("/events?limit=100").json()
    last = start["data"][-1]["id"]
    client.post("/workers", json={"first_name": "Eve", "last_name": "Feed"})
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "out"})
    feed = client.get(f"/events.php?after_id={last}").json()
    assert [e["event"] for e in feed["data"]] == ["worker_created", "clock_in", "clock_out"]
    ids = [e["id"] for e in feed["data"]]
    assert ids == sorted(ids) and ids[0] > last
    assert feed["data"][1]["data"]["worker_id"] == tenant.worker.id
    assert feed["data"][0]["created_at"].endswith("Z")
    page = client.get(f"/events?after_id={last}&limit=2").json()
    assert [e["id"] for e in page["data"]] == ids[:2]
    assert page["pagination"]["has_more"] is True
    assert client.get(f"/events?after_id={ids[-1]}").json()["data"] == []
    assert client.get("/events?limit=101").status_code == 400


def test_the_feed_carries_the_agencys_data_not_the_admins_settings(client, tenant):
    from tempclock.api.services import keys

    last = client.get("/events?limit=100").json()["data"][-1]["id"]
    keys.issue_key(tenant.account_id, "Another integration")  # an admin change
    created = client.post("/webhooks", json={"url": "https://crm.example.com/hook",
                                             "events": ["clock_in"]}).json()["data"]
    client.post(f"/webhooks/{created['id']}/ping")
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    feed = client.get(f"/events?after_id={last}").json()["data"]
    assert [e["event"] for e in feed] == ["clock_in"]
