"""Kept-alive connections outlast the pools of the clients that reuse them.

A flood test once failed with a reset mid-flood: uvicorn closed connections idle for its
default 5 s, which is also how long httpx keeps one in its pool; the client counts from
when it read the answer, later than the server on a loaded machine, so it sent requests on
connections the server was closing.
"""

from __future__ import annotations

import http.client
import time

import httpx
import pytest

from tempclock.api.header_limit import CLIENT_TIMEOUT_S

pytestmark = pytest.mark.sqlite_only  # the connection is under test, not the store

HTTPX_POOL_EXPIRY_S = httpx.Limits().keepalive_expiry  # 5 s


def test_a_connection_idle_as_long_as_httpx_pools_one_is_still_served_then_closed_quietly(api):
    connection = http.client.HTTPConnection("127.0.0.1", api.thread.port, timeout=30)
    try:
        connection.request("GET", "/api/v1/workers")
        first = connection.getresponse()
        first.read()
        time.sleep(HTTPX_POOL_EXPIRY_S + 0.5)  # the client's pool still holds it
        connection.request("GET", "/api/v1/workers")  # on the same connection, unopened again
        again = connection.getresponse()
        again.read()
        assert (first.status, again.status) == (401, 401)
        # Left idle, it is closed with nothing sent (the header timeout's 408 comes later).
        connection.sock.settimeout(CLIENT_TIMEOUT_S + 30)
        idle = time.monotonic()
        assert connection.sock.recv(1024) == b""
        assert time.monotonic() - idle >= HTTPX_POOL_EXPIRY_S
    finally:
        connection.close()
