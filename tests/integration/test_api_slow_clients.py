"""A client that sends its request slowly, or not at all, cannot hold a connection open.

uvicorn has no header or body timeout of its own: without one, connections that trickle a
header line every second (slowloris), connect and say nothing, or declare a body they never
send pile up until the server runs out of file descriptors. Through a real server on loopback, with the deadline shortened.
"""

from __future__ import annotations

import socket
import time

import pytest
from api_tenants import make_tenant
from serving import raw_problem

from tempclock.api import header_limit


@pytest.fixture
def short_deadline(monkeypatch):
    monkeypatch.setattr(header_limit, "CLIENT_TIMEOUT_S", 1.5)


def read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection (or `limit_s` passes)."""
    started = time.monotonic()
    sock.settimeout(limit_s)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except OSError:
        pass
    return received, time.monotonic() - started


def assert_408_problem(received: bytes) -> None:
    problem = raw_problem(received, b"HTTP/1.1 408 Request Timeout")
    assert problem["status"] == 408 and problem["code"] == "request_timeout"


def test_a_client_trickling_header_lines_is_cut_off_with_a_408(api, short_deadline):
    with socket.create_connection(("127.0.0.1", api.thread.port)) as sock:
        sock.sendall(b"GET /api/v1/workers HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 30:
            try:
                sock.sendall(b"X-Slow: a\r\n")
            except OSError:
                closed = True
                break
            time.sleep(0.3)
            sock.settimeout(0.01)
            try:
                if sock.recv(65536, socket.MSG_PEEK) == b"":
                    closed = True
                    break
            except (BlockingIOError, TimeoutError):
                pass
            except OSError:
                closed = True
                break
        assert closed, "a connection trickling its headers was still open after 30 s"


def test_a_client_that_connects_and_sends_nothing_gets_a_408_and_is_closed(api, short_deadline):
    with socket.create_connection(("127.0.0.1", api.thread.port)) as sock:
        received, took = read_until_closed(sock, 30)
    assert_408_problem(received)
    assert took < 20


def test_a_half_sent_head_gets_a_408_problem(api, short_deadline):
    with socket.create_connection(("127.0.0.1", api.thread.port)) as sock:
        sock.sendall(b"GET /api/v1/workers HTTP/1.1\r\nHost: x\r\nX-Part")
        received, _ = read_until_closed(sock, 30)
    assert_408_problem(received)


def test_prompt_requests_on_one_keep_alive_connection_are_all_answered(api, short_deadline):
    key = make_tenant().key
    with api.client(key) as client:  # httpx keeps the one connection alive between them
        for _ in range(3):
            assert client.get("/workers").status_code == 200
            time.sleep(1.0)  # idle between requests, within keep-alive: not a slow head


def test_a_body_shorter_than_its_content_length_gets_a_408_and_is_closed(api, short_deadline):
    key = make_tenant().key
    with socket.create_connection(("127.0.0.1", api.thread.port)) as sock:
        sock.sendall(b"POST /api/v1/workers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + key.encode() + b"\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"first_name\": \"A\"")
        received, took = read_until_closed(sock, 30)
    assert_408_problem(received)
    assert took < 20


def test_a_body_trickled_in_small_pieces_in_time_is_served(api, short_deadline):
    key = make_tenant().key
    body = b'{"first_name": "Slow", "last_name": "Sender"}'
    with socket.create_connection(("127.0.0.1", api.thread.port)) as sock:
        sock.sendall(b"POST /api/v1/workers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 12):  # each piece well within the deadline
            sock.sendall(body[start:start + 12])
            time.sleep(0.5)
        received, _ = read_until_closed(sock, 30)
    assert received.startswith(b"HTTP/1.1 201 "), received[:300]


def trickle_a_body_that_never_ends(port: int, head: bytes, limit_s: float) -> tuple[bytes, float]:
    """Send `head` (a chunked request), then a one-byte chunk every half second, each well
    within the deadline between pieces; what came back and when the server closed (or
    `limit_s`, if it never did)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        started, received = time.monotonic(), b""
        sock.settimeout(0.5)
        while time.monotonic() - started < limit_s:
            try:
                sock.sendall(b"1\r\n \r\n")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        return received, time.monotonic() - started


@pytest.fixture
def short_body_deadline(monkeypatch, short_deadline):
    monkeypatch.setattr(header_limit, "BODY_TIMEOUT_S", 3.0)


def test_a_body_trickled_for_ever_is_cut_off_with_a_408(api, short_body_deadline):
    """A byte every half second never stalls for the 1.5 s between pieces, but a body
    must also arrive as a whole in time: it held its request (and connection) for ever."""
    key = make_tenant().key
    head = (b"POST /api/v1/workers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + key.encode() + b"\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    received, took = trickle_a_body_that_never_ends(api.thread.port, head, 30)
    assert_408_problem(received)
    assert took < 10


def test_a_refused_request_whose_body_never_ends_does_not_keep_its_connection(
        api, short_body_deadline):
    """Without a key the 401 goes out at once; the server then read the never-ending
    body for ever, so any client could hold a connection without a key."""
    head = (b"POST /api/v1/workers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    received, took = trickle_a_body_that_never_ends(api.thread.port, head, 30)
    assert received.startswith(b"HTTP/1.1 401 "), received[:300]
    assert took < 10, "the connection was still open after 30 s"
