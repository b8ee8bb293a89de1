"""A refusal never echoes a key back: whatever field, URL, parameter or field name held it.

Through a real server on loopback: a key pasted into the wrong place is a 400 whose
message names the problem but shows `[redacted]` for the key, so it does not spread
into the caller's own error logs.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest


def problem_shows_no_key(response, key: str) -> None:
    assert 400 <= response.status_code < 500, response.text
    text = response.text
    for part in (key, key[8:], key.upper(), key[8:].upper(), quote(key, safe="")):
        assert part not in text, text
    problem = response.json()
    assert problem["status"] == response.status_code and problem["message"]


@pytest.mark.parametrize("body", [
    {"url": "https://{key}.example/hook", "events": ["*"]},
    {"url": "https://example.com/{key}", "events": ["nope-{key}"]},
    {"url": "https://example.com/hook", "events": ["*"], "{key}": 1},
])
def test_a_key_in_a_webhook_body_is_not_echoed_back(client, tenant, body):
    key = tenant.key
    sent = json.loads(json.dumps(body).replace("{key}", key))
    problem_shows_no_key(client.post("/webhooks", json=sent), key)


@pytest.mark.parametrize("field", ["email", "phone", "first_name", "location_id",
                                   "employee_ref"])
def test_a_key_in_a_worker_field_is_not_echoed_back(client, tenant, field):
    key = tenant.key
    body = {"first_name": "Ann", "last_name": "Lee", field: key}
    if field in ("first_name", "employee_ref"):  # accepted as text: make it invalid
        body["email"] = key
    problem_shows_no_key(client.post("/workers", json=body), key)


@pytest.mark.parametrize("query", ["limit={key}", "updated_since={key}", "id={key}",
                                   "start_date={key}&end_date={key}", "status={key}"])
def test_a_key_in_a_query_parameter_is_not_echoed_back(client, tenant, query):
    key = tenant.key
    response = client.get("/timesheets?" + query.replace("{key}", key.upper()))
    if response.status_code == 200:
        return  # an ignored parameter: nothing echoed
    problem_shows_no_key(response, key)


def test_a_key_as_an_unknown_field_name_is_not_echoed_back(client, tenant):
    problem_shows_no_key(client.post("/shifts", json={tenant.key: 1}), tenant.key)
