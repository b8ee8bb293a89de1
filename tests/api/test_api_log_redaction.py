"""API logs never keep a key: key-looking query parameters and path segments are dropped,
and anything shaped like a key is redacted from every field, however it was encoded."""

from __future__ import annotations

import socket

import pytest

from tempclock.api.config import load_config
from tempclock.api.http import create_app
from tempclock.api.http.ratelimit import RateLimiter
from tempclock.api.server import ServerThread
from tempclock.api.services import accounts, api_logs, keys
from tempclock.api.services.api_logs import redact_path, redact_query
from tempclock.api.services.keys import generate_key
from tempclock.api.store import close_store, database, open_store


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


# --- through a real server: whatever a client sends, the store's bytes never hold a key ----


@pytest.fixture
def served(tmp_path):
    """A real API server on loopback over a fresh SQLite store, and an account with a key."""
    config = load_config(tmp_path / "data")
    open_store(config)
    account = accounts.create_account("Acme", api_enabled=True)
    key = keys.issue_key(account.id, "ATS").plaintext
    thread = ServerThread(create_app(limiter=RateLimiter(auth_failures_per_window=100_000)))
    thread.start()
    try:
        yield thread, config, key
    finally:
        thread.stop()
        close_store()


def send(thread: ServerThread, target: str, headers: dict[str, str]) -> int:
    """One GET with exactly these bytes on the wire (no client normalises the target)."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             *(f"{name}: {value}" for name, value in headers.items())]
    with socket.create_connection(("127.0.0.1", thread.port), timeout=30) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def spellings(key: str) -> dict[str, str]:
    """A key written the ways integrators really write it where it does not belong."""
    secret = key[len("tc_live_"):]
    return {
        "plain": key,
        "upper": key.upper(),
        "percent-encoded": key.replace("_", "%5F"),
        "percent-encoded in lower case": key.replace("_", "%5f"),
        "every character encoded": "".join(f"%{ord(c):02X}" for c in key),
        "double-encoded": key.replace("_", "%255F"),
        "the secret alone": secret,
        "the secret in upper case": secret.upper(),
        "split by a plus": f"{key[:24]}+{key[24:]}",
        "split by a space": f"{key[:24]}%20{key[24:]}",
    }


def test_a_key_planted_in_any_logged_field_never_reaches_the_store(served):
    thread, config, key = served
    planted = keys.generate_key()
    sent = 0
    for how, spelled in spellings(planted).items():
        header_safe = spelled.replace("%20", " ").replace("%", "")  # headers are not decoded
        requests = [
            (f"/api/v1/workers/{spelled}", {}),
            (f"/api/v1/workers?k={spelled}&active=1", {}),
            (f"/api/v1/workers?{spelled}", {}),
            (f"/api/v1/workers?note=see+{spelled}+here", {}),
            ("/api/v1/workers", {"User-Agent": f"ATS-Sync/2.0 ({header_safe})"}),
            ("/api/v1/workers", {"User-Agent": spelled}),
        ]
        for target, headers in requests:
            for authorization in (f"Bearer {key}", f"Bearer {planted}x", "Bearer nonsense"):
                status = send(thread, target, {**headers, "Authorization": authorization})
                assert status < 500, (how, target, status)
                sent += 1
    thread.stop()  # flushes the log writer
    stored = api_logs.list_logs(limit=10_000)
    assert sum(entry.count for entry in stored) == sent  # every request logged
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in config.data_dir.rglob("*") if p.is_file())
    secret = planted[len("tc_live_"):]
    for start in range(len(secret) - 11):  # no twelve hex characters of it, in any case
        for piece in (secret[start:start + 12], secret[start:start + 12].upper()):
            assert piece.encode() not in raw, f"part of the key at {start} is in the store"


def test_a_key_in_full_width_letters_is_redacted_though_nothing_is_percent_encoded():
    # Plain ASCII without '%' skips decoding; anything else must still be normalised first.
    key = keys.generate_key()
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in key)
    assert api_logs.redact(f"agent {full_width}") == f"agent {api_logs.REDACTED}"
    assert api_logs.redact(f"agent {key}") == f"agent {api_logs.REDACTED}"
    assert api_logs.redact("/api/v1/workers") == "/api/v1/workers"
