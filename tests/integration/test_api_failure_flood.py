"""A flood of failed attempts from many addresses cannot fill the API log.

The per-address and per-prefix limits block one guesser; an attacker with many
addresses (any of 127.0.0.0/8 here, a whole IPv6 prefix on a network) presenting a
fresh, well-formed key each time is never blocked by either. Past a budget of failed
attempts from all addresses together, they are still answered 401 but logged as one
aggregated row per minute. Through a real server on loopback, from 127.x.y.z addresses.
"""

from __future__ import annotations

import itertools
import secrets
import socket
import time
import zlib
from collections.abc import Iterator

import pytest
import store_backends
from api_tenants import Api, make_tenant, start_api

from tempclock.api.config import load_config
from tempclock.api.services import api_logs
from tempclock.api.store import close_store

BUDGET = 40
FLOOD = 400


@pytest.fixture(scope="module")
def api(tmp_path_factory, backend) -> Iterator[Api]:
    """A server whose logged budget of failed attempts is small, and no address blocks."""
    with pytest.MonkeyPatch.context() as monkeypatch, \
            store_backends.database_for(backend, monkeypatch):
        running = start_api(load_config(tmp_path_factory.mktemp("data")),
                            auth_failures_logged_per_window=BUDGET)
        yield running
        running.thread.stop()
        close_store()


def well_formed_unknown_key() -> str:
    """A key with a valid checksum that nobody issued (passes the format check)."""
    body = "tc_live_" + secrets.token_hex(16)
    return body + f"{zlib.crc32(body.encode()):08x}"


def status_from(port: int, address: str, key: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=30,
                                  source_address=(address, 0)) as sock:
        sock.sendall(b"GET /api/v1/workers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\n\r\n")
        return int(sock.recv(100).split(b" ", 2)[1])


def logged_requests(status: str) -> tuple[int, int]:
    """(rows, requests they stand for) in the log with `status`."""
    rows = api_logs.list_logs(status=status, limit=api_logs.MAX_LIST)
    return len(rows), sum(row.count for row in rows)


def wait_for_logged(status: str, requests: int) -> tuple[int, int]:
    deadline = time.monotonic() + 60
    while (seen := logged_requests(status))[1] < requests and time.monotonic() < deadline:
        time.sleep(0.2)
    return seen


def test_failed_attempts_from_many_addresses_are_answered_but_logged_in_bounded_rows(api):
    addresses = (f"127.{n // 250 + 1}.{n % 250 + 1}.{n % 7 + 2}" for n in itertools.count())
    statuses = [status_from(api.thread.port, next(addresses), well_formed_unknown_key())
                for _ in range(FLOOD)]
    assert set(statuses) == {401}, "each failed attempt is still answered as one"
    rows, requests = wait_for_logged("401", FLOOD)
    assert requests == FLOOD, "every failed attempt is accounted for in the log"
    assert rows <= BUDGET + 3, f"{FLOOD} failed attempts took {rows} log rows"
    flood_rows = [row for row in api_logs.list_logs(status="401", limit=1000)
                  if row.client == api_logs.MANY_ADDRESSES]
    assert flood_rows and sum(row.count for row in flood_rows) >= FLOOD - BUDGET


def test_a_valid_key_is_served_and_logged_on_its_own_during_a_flood(api):
    tenant = make_tenant()
    for n in range(BUDGET * 2):
        status_from(api.thread.port, f"127.9.{n // 200 + 1}.{n % 200 + 1}",
                    well_formed_unknown_key())
    with api.client(tenant.key) as client:
        assert client.get("/workers").status_code == 200
    deadline = time.monotonic() + 60
    while not (mine := api_logs.list_logs(key_id=tenant.key_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(mine) == 1 and mine[0].status == 200 and mine[0].client == "127.0.0.1"
