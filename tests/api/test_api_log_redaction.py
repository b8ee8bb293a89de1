"""API logs never keep a key: key-looking query parameters and path segments are dropped."""

from __future__ import annotations

from api.services.api_logs import redact_path, redact_query
from api.services.keys import generate_key


def test_plain_queries_are_kept_as_they_are():
    assert redact_query("active=1&location_id=3&limit=2") == "active=1&location_id=3&limit=2"
    assert redact_query("") == ""


def test_key_named_parameters_are_dropped():
    key = generate_key()
    assert redact_query(f"active=1&api_key={key}") == "active=1"
    assert redact_query("token=abc&id=2&access_token=x&password=p") == "id=2"


def test_key_looking_values_are_dropped_whatever_their_name():
    key = generate_key()
    assert redact_query(f"q={key}&limit=5") == "limit=5"


def test_a_key_pasted_into_the_path_is_redacted():
    key = generate_key()
    assert key not in redact_path(f"/api/v1/workers/{key}")
