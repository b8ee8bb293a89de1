"""A client that hangs up halfway through sending its body is the client's doing: the API log
records it as a 400 `client_disconnected`, never as a 500 (which the admin's alerts count as a
fault of ours), and the server carries on answering."""

from __future__ import annotations

import socket
import time

from tempclock.api.services import api_logs


def _hang_up_mid_body(url: str, key: str) -> None:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    head = (f"POST /api/v1/workers HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + b'{"first_name": "Ann", "la')
        time.sleep(0.3)  # the server is reading the body when the client goes


def test_a_client_hanging_up_mid_body_is_logged_as_its_400_not_our_500(api, tenant, client):
    before = {e.request_id for e in api_logs.list_logs(limit=1000)}
    for _ in range(3):
        _hang_up_mid_body(api.url, tenant.key)
    deadline = time.monotonic() + 30
    new = []
    while len(new) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        new = [e for e in api_logs.list_logs(limit=1000) if e.request_id not in before]
    assert len(new) == 3, new
    assert {(e.method, e.status, e.error_code) for e in new} == {
        ("POST", 400, "client_disconnected")}
    assert client.get("/workers").status_code == 200
