"""Absurd request bodies are refused with a 400 (or 413) problem, never a 5xx, on every endpoint
that takes one: deep nesting, broken JSON and UTF-8, NUL characters, huge numbers and strings."""

from __future__ import annotations

import re

import httpx
import pytest
from test_api_errors import check

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def writes(api) -> list[tuple[str, str]]:
    """(method, path) of every documented operation that takes a body, ids filled with 1."""
    document = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    return [(method.upper(), re.sub(r"\{\w+\}", "1", path.removeprefix("/api/v1")))
            for path, item in document["paths"].items()
            for method, operation in item.items() if "requestBody" in operation]


def deep_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


ABSURD = {
    "1,000 nested arrays": deep_arrays(1000),
    "1,000 nested objects": deep_objects(1000),
    "100,000 nested arrays": deep_arrays(100_000),
    "100,000 unclosed arrays": b"[" * 100_000,
    "100,000 nested objects": deep_objects(100_000),
    "nesting inside a field": b'{"first_name": ' + deep_arrays(5000) + b', "last_name": "B"}',
    "arrays and objects alternating": b'[{"a":' * 2000 + b"1" + b"}]" * 2000,
    "truncated UTF-8": b'{"first_name": "\xe2\x82',
    "invalid UTF-8": b'{"first_name": "\xff\xfe", "last_name": "B"}',
    "not JSON": b"first_name=A&last_name=B",
    "a raw NUL byte": b'{"first_name": "A\x00B", "last_name": "C"}',
    "a number of 5,000 digits": b'{"worker_id": 1' + b"0" * 5000 + b', "action": "in"}',
    "an exponent out of range": b'{"worker_id": 1e999999, "action": "in"}',
    "an empty body": b"",
    "only whitespace": b"   \r\n",
}


@pytest.mark.parametrize("name", list(ABSURD))
def test_an_absurd_body_is_a_400_on_every_endpoint_taking_one(client, writes, name):
    assert writes, "the document lists operations with bodies"
    for method, path in writes:
        response = client.request(method, path, content=ABSURD[name], headers=JSON)
        assert response.status_code == 400, (method, path, response.text)
        check(response, 400, response.json()["code"], "Bad Request")


def test_absurd_nesting_is_called_malformed_json(client):
    for body in (deep_arrays(1000), deep_objects(100_000), deep_arrays(65)):
        body = check(client.post("/workers", content=body, headers=JSON), 400,
                     "malformed_json", "Bad Request")
        assert "nested" in body["message"]


def test_nesting_within_the_limit_is_judged_on_its_fields(client):
    shallow = b'{"first_name": ' + deep_arrays(60) + b', "last_name": "B"}'
    body = check(client.post("/workers", content=shallow, headers=JSON), 400, "invalid_field",
                 "Bad Request")
    assert "first_name" in body["message"]


def test_brackets_inside_strings_are_not_nesting(client):
    name = "[" * 30 + "{" * 30 + "\\\"[["
    response = client.post("/workers", json={"first_name": name[:100], "last_name": "B"})
    assert response.status_code == 201, response.text


def test_a_nul_character_in_a_string_is_refused(client):
    for body in (b'{"first_name": "A\\u0000B", "last_name": "C"}',
                 b'{"first_name": "A", "last_name": "C\\u0000"}'):
        body = check(client.post("/workers", content=body, headers=JSON), 400, "invalid",
                     "Bad Request")
        assert "control characters" in body["message"]
    escaped_backslash = b'{"first_name": "A\\\\u0000B", "last_name": "C"}'
    assert client.post("/workers", content=escaped_backslash, headers=JSON).status_code == 201


def test_a_ten_megabyte_string_is_a_413_and_a_long_one_within_the_limit_a_400(client):
    huge = b'{"first_name": "' + b"x" * (10 * 1024 * 1024) + b'", "last_name": "B"}'
    check(client.post("/workers", content=huge, headers=JSON), 413, "body_too_large",
          "Request Entity Too Large")
    long = b'{"first_name": "' + b"x" * (1000 * 1000) + b'", "last_name": "B"}'
    check(client.post("/workers", content=long, headers=JSON), 400, "invalid", "Bad Request")


def test_the_server_still_answers_after_absurd_bodies(client):
    client.post("/workers", content=deep_arrays(100_000), headers=JSON)
    assert client.get("/workers").status_code == 200


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/xml", "application/json; charset=utf-16", ""])
def test_any_content_type_is_read_as_json_and_a_body_that_is_not_json_is_a_400(client,
                                                                            content_type):
    # curl -d sends a form content type: the body is read as JSON whatever it is labelled.
    headers = {"content-type": content_type}
    check(client.post("/workers", content=b"first_name=A&last_name=B", headers=headers), 400,
          "malformed_json", "Bad Request")
    check(client.post("/workers", content=b'<worker first_name="A"/>', headers=headers), 400,
          "malformed_json", "Bad Request")
    created = client.post("/workers", content=b'{"first_name": "A", "last_name": "B"}',
                          headers=headers)
    assert created.status_code == 201, created.text


def test_duplicate_keys_are_read_as_json_reads_them_the_last_one_counting(client):
    body = b'{"first_name": "First", "first_name": "Last", "last_name": "B"}'
    created = client.post("/workers", content=body, headers=JSON)
    assert created.status_code == 201 and created.json()["data"]["first_name"] == "Last"
