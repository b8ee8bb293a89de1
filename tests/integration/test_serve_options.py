"""`tempclock serve` beyond one process on one PC: several workers, the LAN, TLS.

With `--workers N` several processes serve on PostgreSQL with one rate limit in Redis:
the limit of a key holds across them exactly (API.md: a fresh key gives exactly 60
successes however the requests are spread), and webhook delivery runs once, in the
parent's dispatcher, not once per worker. An address other machines can reach needs
`--expose`; `--certfile`/`--keyfile` serve HTTPS.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import store_backends
from serving import Server, free_port, group_is_gone

from tempclock.api.config import load_config
from tempclock.api.services import accounts, keys, locations, webhooks, workers
from tests.conftest import allow_internal_targets

WORKERS = 2


def serve_with(data_dir: Path, *args: str, scheme: str = "http", verify: object = True) -> Server:
    """`tempclock serve` with `args` in a process group of its own, stopped with SIGTERM."""
    return Server(load_config(data_dir), data_dir.parent / "serve.log", *args, own_group=True,
                  scheme=scheme, verify=verify)


@pytest.fixture
def agency(store):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", location_id=site.id))
    return account, worker


def _answering_processes(url: str, count: int, timeout: float) -> set[str]:
    """The process tags (request-id prefixes) seen answering `url` until `count` have
    answered or time runs out. The first worker up takes every connection while the
    others are still importing, so a test about all of them waits for all of them."""
    tags: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(tags) < count and time.monotonic() < deadline:
        with httpx.Client(base_url=url, timeout=5) as client:  # a fresh connection each round
            tags.add(client.get("/docs").headers["X-Request-ID"][:16])
        time.sleep(0.05)
    return tags


@pytest.fixture
def two_workers(config, agency, monkeypatch):
    if store_backends.REDIS_URL is None:
        pytest.skip(store_backends.NO_REDIS)
    monkeypatch.setenv("TEMPCLOCK_REDIS_URL", store_backends.REDIS_URL)
    served = serve_with(config.data_dir, "--workers", str(WORKERS))
    up = _answering_processes(served.url, WORKERS, 60)
    if len(up) < WORKERS:
        served.stop()
        raise RuntimeError(f"only {len(up)} of {WORKERS} workers answered:\n{served.output}")
    yield served
    served.stop()


async def _burst(url: str, key: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        headers = {"Authorization": f"Bearer {key}"}
        return await asyncio.gather(*(client.get("/api/v1/workers", headers=headers)
                                      for _ in range(count)))


@pytest.mark.postgres_only
def test_two_hundred_simultaneous_requests_with_a_fresh_key_give_exactly_sixty(two_workers,
                                                                               agency):
    account, _ = agency
    key = keys.issue_key(account.id, "Burst").plaintext  # the default limit: 60 a minute
    responses = asyncio.run(_burst(two_workers.url, key, 200))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 60, statuses
    assert statuses.count(429) == 140
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["message"] == "Rate limit exceeded. Maximum 60 requests per minute."
    assert int(refused.headers["Retry-After"]) >= 1
    # A request id starts with its process's tag: both workers answered.
    assert len({r.headers["X-Request-ID"][:16] for r in responses}) == WORKERS


async def _together(url: str, key: str, requests: list[tuple[str, dict]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(requests), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {key}"}) as client:
        return await asyncio.gather(*(client.post(path, json=body) for path, body in requests))


@pytest.mark.postgres_only
def test_every_worker_refuses_request_headers_over_64_kib_with_a_431(two_workers):
    flood = {"X-Flood": "f" * (70 * 1024)}
    with httpx.Client(base_url=two_workers.url, timeout=30) as client:
        tags = set()
        for _ in range(20):  # fresh connections, spread across the workers
            refused = client.get("/api/v1/workers", headers={**flood, "Connection": "close"})
            assert refused.status_code == 431 and refused.json()["code"] == "headers_too_large"
            tags.add(refused.headers["X-Request-ID"][:16])
        assert client.get("/docs").status_code == 200
    assert len(tags) == WORKERS


@pytest.mark.postgres_only
def test_across_workers_a_worker_is_clocked_in_once_and_booked_on_one_shift(two_workers,
                                                                            agency):
    account, worker = agency
    key = keys.issue_key(account.id, "Kiosks", rate_limit=1000).plaintext
    clock_ins = asyncio.run(_together(two_workers.url, key, [
        ("/clock", {"worker_id": worker.id, "action": "in"})] * 20))
    assert sorted(r.status_code for r in clock_ins) == [201] + [409] * 19
    assert {r.json()["code"] for r in clock_ins if r.status_code == 409} == {
        "already_clocked_in"}
    shifts = asyncio.run(_together(two_workers.url, key, [
        ("/shifts", {"location_id": worker.location_id, "worker_id": worker.id,
                     "start": f"2026-03-10T{6 + n % 3:02d}:00:00Z",
                     "end": f"2026-03-10T{14 + n % 3:02d}:00:00Z"}) for n in range(20)]))
    assert sorted(r.status_code for r in shifts) == [201] + [409] * 19


@pytest.mark.postgres_only
def test_with_two_workers_one_dispatcher_delivers_each_webhook_once(two_workers, agency,
                                                                    receiver):
    account, worker = agency
    allow_internal_targets(account.id)  # the receiver is on this PC
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url=f"{receiver.url}/hook", events=["clock_in"]))
    key = keys.issue_key(account.id, "Clock").plaintext
    with httpx.Client(base_url=f"{two_workers.url}/api/v1",
                      headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        answer = client.post("/clock", json={"worker_id": worker.id, "action": "in"})
        assert answer.status_code == 201, answer.text
    assert len(receiver.wait_for(1, timeout=30)) == 1
    time.sleep(1.0)  # a second dispatcher would have delivered it again by now
    assert len(receiver.requests) == 1
    two_workers.stop()
    output = two_workers.output
    assert output.count("the dispatcher is running") == 1, output
    assert output.count("Application startup complete") == WORKERS


@pytest.mark.postgres_only
@pytest.mark.parametrize("to_group", [True, False],
                         ids=["SIGTERM to its process group", "SIGTERM to the server alone"])
def test_with_two_workers_serve_stops_within_5_s_and_leaves_no_process(two_workers, to_group):
    group = two_workers.process.pid
    (os.killpg if to_group else os.kill)(group, signal.SIGTERM)
    signalled = time.monotonic()
    two_workers.process.wait(30)
    took = time.monotonic() - signalled
    output = two_workers.output
    assert took <= 5, f"stopped after {took:.1f} s:\n{output}"
    assert two_workers.process.returncode == 0, output
    assert group_is_gone(group, 5), f"a process of the server's group is left:\n{output}"
    assert "leaked semaphore" not in output, output


def test_several_workers_refuse_sqlite_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("TEMPCLOCK_DATABASE_URL", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "tempclock.api.cli", "serve", "--workers", "2", "--data-dir",
         str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: --workers 2 needs PostgreSQL: SQLite serves one process; set "
        "TEMPCLOCK_DATABASE_URL=postgresql://... or serve with one worker"]


@pytest.mark.postgres_only
def test_several_workers_need_the_shared_rate_limit_store(config, monkeypatch):
    monkeypatch.delenv("TEMPCLOCK_REDIS_URL", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "tempclock.api.cli", "serve", "--workers", "2", "--data-dir",
         str(config.data_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: --workers 2 needs a rate-limit store the workers share: set "
        "TEMPCLOCK_REDIS_URL=redis://..."]


# --- the local network and TLS -----------------------------------------------------------


def serve_refusal(tmp_path: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tempclock.api.cli", "serve", "--data-dir", str(tmp_path / "data"),
         "--port", str(free_port()), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.splitlines()
    return line


def test_an_address_other_machines_reach_needs_expose(tmp_path):
    assert serve_refusal(tmp_path, "--host", "0.0.0.0") == (
        "Error: --host 0.0.0.0 makes the API reachable from other machines; add --expose to "
        "confirm (and --certfile/--keyfile to encrypt it with TLS)")


def test_a_certificate_needs_its_key(tmp_path, certificate):
    cert, _ = certificate
    assert serve_refusal(tmp_path, "--certfile", str(cert)) == (
        "Error: --certfile and --keyfile go together (the certificate and its private key)")


def test_exposed_on_the_lan_it_serves_https_with_the_given_certificate(tmp_path, certificate):
    cert, key = certificate
    trusted = ssl.create_default_context(cafile=str(cert))
    served = serve_with(tmp_path / "data", "--host", "0.0.0.0", "--expose", "--certfile",
                        str(cert), "--keyfile", str(key), scheme="https", verify=trusted)
    try:
        answer = httpx.get(f"{served.url}/api/v1/workers", verify=trusted, timeout=10)
        assert answer.status_code == 401
        assert answer.json()["code"] == "key_missing"
        with pytest.raises(httpx.TransportError):  # plain HTTP is not served
            httpx.get(f"http://127.0.0.1:{served.port}/api/v1/workers", timeout=5)
        refused = httpx.get(f"{served.url}/api/v1/workers", verify=trusted, timeout=30,
                            headers={"X-Flood": "f" * (70 * 1024)})
        assert refused.status_code == 431 and refused.json()["code"] == "headers_too_large"
    finally:
        served.stop()
    output = served.output
    assert f"TempClock API: https://0.0.0.0:{served.port}/api/v1/" in output
    assert "WARNING: the TempClock API is exposed on 0.0.0.0" in output
    assert "not encrypted" not in output


def test_exposed_without_tls_it_warns_that_traffic_is_not_encrypted(tmp_path):
    served = serve_with(tmp_path / "data", "--host", "0.0.0.0", "--expose")
    served.stop()
    output = served.output
    assert "WARNING: the TempClock API is exposed on 0.0.0.0" in output
    assert "Traffic is not encrypted" in output
