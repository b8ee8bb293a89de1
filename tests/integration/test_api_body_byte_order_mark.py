"""A JSON body that starts with a UTF-8 byte-order mark (what .NET's UTF-8 writers and some
Windows tools put first) is read as the JSON after it (RFC 8259 8.1); a mark anywhere else,
or a body that is nothing but one, is still a 400, never a 500."""

from __future__ import annotations

import codecs
import json

JSON = {"content-type": "application/json"}
BOM = codecs.BOM_UTF8


def test_a_body_starting_with_a_byte_order_mark_creates_and_updates_as_sent(client):
    body = json.dumps({"first_name": "Zoë", "last_name": "Ó Súilleabháin"}).encode()
    created = client.post("/workers", content=BOM + body, headers=JSON)
    assert created.status_code == 201, created.text
    worker = created.json()["data"]
    assert (worker["first_name"], worker["last_name"]) == ("Zoë", "Ó Súilleabháin")
    changed = client.patch(f"/workers/{worker['id']}", content=BOM + b'{"role": "Picker"}',
                           headers=JSON)
    assert changed.status_code == 200, changed.text
    assert client.get(f"/workers/{worker['id']}").json()["data"]["role"] == "Picker"


def test_a_clock_action_with_a_byte_order_mark_and_an_idempotency_key_replays(client, tenant):
    body = BOM + json.dumps({"worker_id": tenant.worker.id, "action": "in"}).encode()
    headers = {**JSON, "Idempotency-Key": "bom-1"}
    first = client.post("/clock", content=body, headers=headers)
    retry = client.post("/clock", content=body, headers=headers)
    assert first.status_code == retry.status_code == 201, first.text
    assert retry.headers["idempotent-replayed"] == "true"


def test_a_mark_alone_or_in_the_wrong_place_is_a_400(client):
    for body in (BOM, BOM + BOM + b"{}", b" " + BOM + b"{}", b'{"first_name": "A"}' + BOM):
        response = client.post("/workers", content=body, headers=JSON)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["status"] == 400
