"""The egress policy over HTTP: what an API key can make the host call, and what it reads back.

Receivers here are on loopback only; addresses elsewhere are refused before any
connection, which the `connections` fixture (an audit hook on socket.connect) shows.
"""

from __future__ import annotations

import socket
import sys
import threading
import uuid

import pytest

from tempclock.api.dispatcher import Dispatcher
from tempclock.api.services import accounts, webhooks
from tempclock.api.store import database
from tempclock.api.store.models import WebhookDelivery, WebhookSubscription
from tests.conftest import allow_internal_targets

INTERNAL_URLS = [
    "http://127.0.0.1:9000/hook", "https://127.0.0.1/hook", "https://127.0.0.2:8443/",
    "https://10.0.0.1/hook", "https://172.16.5.4/", "https://192.168.1.10/",
    "https://100.64.0.1/", "https://[fd00::1]/", "https://[fc00::5]:8443/",
    "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/",
    "https://[::ffff:10.0.0.1]/", "https://[2002:7f00:1::]/",
    "https://localhost/", "https://LOCALHOST:8443/", "https://localhost./",
    "https://api.localhost/", "http://localhost/hook", "https://printer.local/",
    "https://crm.internal/", "https://intranet/",
]
NEVER_URLS = [
    "https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/",
    "https://[fe80::1]/", "https://0.0.0.0/", "https://[::]/", "https://224.0.0.1/",
    "https://255.255.255.255/", "https://240.0.0.1/", "https://0.1.2.3/",
]
MALFORMED_URLS = [
    "https://xn--/", "https://a b.example/", "https://exa mple.com/hook",
    "https://ats.example:0/", "https://ats.example:70000/", "https://ats.example:99999999999/",
    "https://xn--zz-zzz.com/", "https://good@evil.example/", "https://user:pw@ats.example/",
    "https:///hook", "https://", "ftp://ats.example/x", "javascript:alert(1)", "not a url",
    "file:///etc/passwd", "https://-bad.example/", "https://a..b.example/",
    "https://a_b.example/", "https://%6c%6f%63%61%6c%68%6f%73%74/",
    "https://[fe80::1%25eth0]/", "https://ats.example\\@evil.example/",
    "http://2130706433/", "https://2130706433/", "https://0x7f.1/", "https://0177.0.0.1/",
    "https://127.1/", "https://1.2.3.4.5/", "https://256.0.0.1/",
]


def total(client) -> int:
    return client.get("/webhooks").json()["pagination"]["total"]


def refused(response, code: str | None = None) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["field"] == "url", body
    if code is not None:
        assert body["code"] == code, body
    return body["message"]


@pytest.fixture
def connections(api):
    """Every address this process opens a socket to while the test runs (but the API's own)."""
    seen: list[object] = []
    watching = threading.Event()
    watching.set()
    api_port = int(api.url.rsplit(":", 1)[1])

    def hook(event, args):
        if event == "socket.connect" and watching.is_set() and args[1][1] != api_port:
            seen.append(args[1])

    sys.addaudithook(hook)  # audit hooks cannot be removed: this one is switched off instead
    yield seen
    watching.clear()


@pytest.fixture
def dispatcher():
    running = Dispatcher(senders=8, send_timeout=5.0)
    yield running
    running.stop()


def test_internal_and_malformed_urls_are_refused_at_creation_without_the_allowance(client):
    before = total(client)
    for url in INTERNAL_URLS:
        assert "internal address not allowed" in refused(
            client.post("/webhooks", json={"url": url}), "internal_target_not_allowed"), url
    for url in NEVER_URLS:
        assert "internal address not allowed" in refused(
            client.post("/webhooks", json={"url": url})), url
    for url in MALFORMED_URLS:
        assert "url" in refused(client.post("/webhooks", json={"url": url})), url
    assert total(client) == before


def test_a_subscription_cannot_be_moved_to_an_internal_address(client):
    hook = client.post("/webhooks", json={"url": "https://ats.example/a"}).json()["data"]
    for url in ("https://10.0.0.1/", "http://127.0.0.1:9/", "https://xn--/"):
        refused(client.put(f"/webhooks/{hook['id']}", json={"url": url}))
    assert client.get(f"/webhooks/{hook['id']}").json()["data"]["url"] == "https://ats.example/a"


def test_with_the_allowance_this_pc_and_the_office_network_are_accepted(client, tenant):
    allow_internal_targets(tenant.account_id)
    for url in ("http://127.0.0.1:9000/hook", "http://localhost/hook", "http://[::1]:8080/x",
                "https://10.0.0.1/hook", "https://[fd00::1]/", "https://printer.local/"):
        assert client.post("/webhooks", json={"url": url}).status_code == 201, url
    # Plain HTTP only to this PC; metadata, link-local and the like never.
    refused(client.post("/webhooks", json={"url": "http://10.0.0.1/hook"}),
            "webhook_url_insecure")
    for url in NEVER_URLS:
        refused(client.post("/webhooks", json={"url": url}), "internal_target_not_allowed")


def test_a_loopback_subscription_is_refused_at_delivery_once_the_allowance_is_withdrawn(
        client, tenant, receiver, dispatcher, connections):
    allow_internal_targets(tenant.account_id)
    by_address = client.post("/webhooks", json={"url": f"{receiver.url}/hook",
                                                "events": ["clock_in"]}).json()["data"]
    port = receiver.server.server_address[1]
    by_name = client.post("/webhooks", json={"url": f"http://localhost:{port}/named",
                                             "events": ["clock_in"]}).json()["data"]
    accounts.allow_internal_targets(tenant.account_id, False, by="tests (admin)")
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    dispatcher.run_once()
    for hook in (by_address, by_name):
        (attempt,) = client.get(f"/webhooks/{hook['id']}").json()["data"]["recent_deliveries"]
        assert attempt["state"] == "failed"
        assert attempt["error"].startswith("internal address not allowed"), attempt
        assert attempt["next_attempt_at"] is None  # refused, not retried
    assert receiver.requests == []
    assert not [a for a in connections if a[-1] == port]


def test_a_name_that_resolves_to_this_pc_is_refused_when_connecting(receiver, connections):
    """The check at connect time, after the lookup: the name passes nothing by."""
    import httpx

    from tempclock.api import outbound
    from tempclock.api.services.egress import Refused

    port = receiver.server.server_address[1]
    client = outbound.delivery_client(allow_internal=False, timeout=httpx.Timeout(5.0),
                                      limits=httpx.Limits(), user_agent="test")
    with client, pytest.raises(Refused, match="internal address not allowed") as refusal:
        client.post(f"http://localhost:{port}/hook", content=b"{}")
    assert "127.0.0.1" not in refusal.value.message  # the answer is not told to the caller
    assert receiver.requests == [] and not [a for a in connections if a[-1] == port]
    allowed = outbound.delivery_client(allow_internal=True, timeout=httpx.Timeout(5.0),
                                       limits=httpx.Limits(), user_agent="test")
    with allowed:
        assert allowed.post(f"http://localhost:{port}/hook", content=b"{}").status_code == 200


def test_rows_saved_before_the_policy_are_refused_at_delivery_without_a_connection(
        client, tenant, dispatcher, connections):
    """A data directory from an older version may hold any URL: each fails once, with why."""
    urls = ["https://169.254.169.254/latest/meta-data/", "https://10.1.2.3/hook",
            "https://xn--/", "https://ats.example:0/", "https://a b.example/", "ftp://x/",
            "http://2130706433/"]
    for url in urls:
        WebhookSubscription.create(account=tenant.account_id, url=url, events="clock_in",
                                   secret=webhooks.new_secret())
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    dispatcher.run_once()
    dispatcher.run_once()
    rows = {row.subscription.url: row for row in WebhookDelivery.select().where(
        WebhookDelivery.account == tenant.account_id)}
    assert sorted(rows) == sorted(urls)  # one attempt each: nothing is queued again
    for url, row in rows.items():
        assert (row.state, row.next_attempt_at) == ("failed", None), url
        assert row.error, url
    assert rows[urls[0]].error.startswith("internal address not allowed")
    assert rows[urls[1]].error.startswith("internal address not allowed")
    assert "not a valid URL" in rows["https://xn--/"].error
    assert "port" in rows["https://ats.example:0/"].error
    assert connections == []


def test_a_delivery_record_keeps_the_status_never_the_receivers_answer(
        client, tenant, receiver, dispatcher):
    allow_internal_targets(tenant.account_id)
    receiver.status, receiver.reply = 500, b"root:x:0:0 internal admin page, keep out"
    hook = client.post("/webhooks", json={"url": f"{receiver.url}/hook",
                                          "events": ["clock_in"]}).json()["data"]
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    dispatcher.run_once()
    detail = client.get(f"/webhooks/{hook['id']}")
    attempt = detail.json()["data"]["recent_deliveries"][-1]  # the first; a retry is queued
    assert (attempt["state"], attempt["status_code"], attempt["error"]) == (
        "failed", 500, "HTTP 500")
    assert "root:x" not in detail.text


def test_a_service_that_does_not_speak_http_leaves_no_banner_in_the_record(
        client, tenant, dispatcher):
    allow_internal_targets(tenant.account_id)
    banner = socket.create_server(("127.0.0.1", 0))

    def answer():
        conn, _ = banner.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH_9.9 SECRET-HOST-BANNER\r\n")

    threading.Thread(target=answer, daemon=True).start()
    with banner:
        hook = client.post("/webhooks", json={
            "url": f"http://127.0.0.1:{banner.getsockname()[1]}/", "events": ["clock_in"]},
        ).json()["data"]
        client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
        dispatcher.run_once()
    detail = client.get(f"/webhooks/{hook['id']}")
    attempt = detail.json()["data"]["recent_deliveries"][-1]  # the first; a retry is queued
    assert attempt["state"] == "failed" and attempt["error"]
    assert "SECRET-HOST-BANNER" not in detail.text and "SSH" not in detail.text


def test_a_replayed_creation_omits_the_secret_and_nothing_else_keeps_it(client):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"url": "https://ats.example/replayed", "events": ["clock_in"]}
    first = client.post("/webhooks", json=body, headers=headers)
    replay = client.post("/webhooks", json=body, headers=headers)
    secret = first.json()["data"]["secret"]
    assert first.status_code == replay.status_code == 201
    assert secret.startswith("whsec_")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["data"]["secret"] is None
    assert replay.json()["message"] == "The signing secret was shown only in the first response"
    assert {k: v for k, v in replay.json()["data"].items() if k != "secret"} == {
        k: v for k, v in first.json()["data"].items() if k != "secret"}
    assert secret not in replay.text
    assert stored_anywhere(secret) == [("webhook_subscription", "secret")]


def stored_anywhere(text: str) -> list[tuple[str, str]]:
    """Every (table, column) of the store holding `text`."""
    db = database.obj
    found = []
    for table in db.get_tables():
        for column in db.get_columns(table):
            cursor = db.execute_sql(
                f'SELECT COUNT(*) FROM "{table}" WHERE CAST("{column.name}" AS TEXT) LIKE '
                f"{db.param}", (f"%{text}%",))
            if cursor.fetchone()[0]:
                found.append((table, column.name))
    return found
