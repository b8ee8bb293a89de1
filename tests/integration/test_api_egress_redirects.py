"""A receiver that answers with a redirect cannot send the host anywhere else.

The first receiver (on loopback, allowed for the account) answers every delivery
with a redirect to the cloud metadata address or to a second receiver; the sender
must not follow: an audit hook on socket.connect shows it opened no other
connection, the second receiver hears nothing, and the delivery record keeps the
status only, never where it was told to go.
"""

from __future__ import annotations

import http.server
import sys
import threading

import pytest

from tempclock.api.dispatcher import Dispatcher
from tempclock.api.store import database
from tests.conftest import Receiver, allow_internal_targets


class Redirecting:
    """An HTTP server on 127.0.0.1 answering every POST with `status` and a Location."""

    def __init__(self, status: int, location: str) -> None:
        self.hits = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.hits += 1
                body = b"moved: go to " + location.encode()
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def connections(api):
    """The addresses this process connects to while the test runs (but the API's own)."""
    seen: list[object] = []
    watching = threading.Event()
    watching.set()
    api_port = int(api.url.rsplit(":", 1)[1])

    def hook(event, args):
        if event == "socket.connect" and watching.is_set() and isinstance(args[1], tuple) \
                and args[1][1] != api_port:
            seen.append(args[1])

    sys.addaudithook(hook)  # cannot be removed: switched off instead
    yield seen
    watching.clear()


@pytest.fixture
def second_receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("target", ["metadata", "another receiver"])
def test_a_redirect_from_a_receiver_is_not_followed(client, tenant, second_receiver,
                                                    connections, status, target):
    allow_internal_targets(tenant.account_id)
    location = ("http://169.254.169.254/latest/meta-data/" if target == "metadata"
                else f"{second_receiver.url}/stolen")
    redirecting = Redirecting(status, location)
    dispatcher = Dispatcher(senders=2, send_timeout=5.0)
    try:
        hook = client.post("/webhooks", json={"url": f"{redirecting.url}/hook",
                                              "events": ["clock_in"]}).json()["data"]
        client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
        dispatcher.run_once()
    finally:
        dispatcher.stop()
        redirecting.close()
    assert redirecting.hits == 1
    assert not second_receiver.requests, "the redirect was followed to another receiver"
    elsewhere = {address for address in connections
                 if address[:2] != ("127.0.0.1", redirecting.port)}
    assert not elsewhere, f"the sender connected elsewhere: {elsewhere}"
    detail = client.get(f"/webhooks/{hook['id']}")
    attempt = detail.json()["data"]["recent_deliveries"][-1]
    assert (attempt["state"], attempt["status_code"]) == ("failed", status)
    assert "169.254" not in detail.text and "/stolen" not in detail.text
    rows = database.execute_sql("SELECT error FROM webhook_delivery").fetchall()
    assert not any(row[0] and ("169.254" in row[0] or "stolen" in row[0]) for row in rows)
