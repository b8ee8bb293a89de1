"""When what a request leans on fails (the rate-limit store; the store a kiosk punch writes to),
the caller gets a 500 problem with a request id and no internals, the failure is logged with
its traceback (never with a kiosk's token), and the server keeps serving: the next request
after the repair is answered normally. (The key store failing the gate's key check:
tests/api/test_mutants_gate.py, in-process, where the mutation run uses it.)"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator

import httpx
import pytest
import store_backends
from api_tenants import Api, make_tenant, start_api
from serving import free_port
from store_faults import table_away
from waiting import WAIT_S, wait_until

from tempclock.api.config import load_config
from tempclock.api.http.ratelimit import RedisRateLimitStore
from tempclock.api.services import kiosk, pins
from tempclock.api.store import close_store
from tempclock.api.store.models import TimeEntry

PROBLEM_TYPE = "application/problem+json"




class Redis:
    """A redis-server of the test's own on a fixed loopback port, which it can stop and start."""

    def __init__(self, folder) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_until(self._answers), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(WAIT_S)
            self.process = None

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=1).ping()
        except redis.RedisError:
            return False


@pytest.fixture
def served(tmp_path, backend, request) -> Iterator[tuple[Api, Redis | None]]:
    """A server over a fresh store; with a Redis rate-limit store when the test asks."""
    redis = None
    options = {}
    if "with_redis" in request.fixturenames:
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        redis = Redis(tmp_path)
        redis.start()
        options["store"] = RedisRateLimitStore(redis.url, namespace=str(redis.port))
    with pytest.MonkeyPatch.context() as monkeypatch, \
            store_backends.database_for(backend, monkeypatch):
        api = start_api(load_config(tmp_path / "data"), **options)
        try:
            yield api, redis
        finally:
            api.thread.stop()
            close_store()
            if redis is not None:
                redis.stop()


@pytest.fixture
def with_redis():
    """Marks a test that serves with the Redis rate-limit store (see `served`)."""


def assert_plain_500(response: httpx.Response) -> dict:
    """A 500 problem an integrator can quote (its request id), with nothing of our internals."""
    assert response.status_code == 500, response.text
    assert response.headers["content-type"] == PROBLEM_TYPE
    body = response.json()
    assert (body["status"], body["code"]) == (500, "internal_error")
    assert body["request_id"] == response.headers["x-request-id"]
    for internal in ("Traceback", "redis", "Redis", "ConnectionError", "OperationalError",
                     "sqlite", "api_key", ".py"):
        assert internal not in response.text, internal
    return body


def logged_with_traceback(caplog, request_id: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records
            if r.name == "tempclock.api.http" and request_id in r.getMessage()
            and r.exc_info is not None]


def test_while_the_rate_limit_store_is_down_requests_get_a_logged_500_then_are_served_again(
        served, with_redis, caplog):
    api, redis = served
    tenant = make_tenant()
    with api.client(tenant.key) as client, api.client("tc_live_" + "x" * 40) as stranger:
        assert client.get("/workers").status_code == 200
        redis.stop()
        with caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
            down = assert_plain_500(client.get("/workers"))
            # A refused key is counted in the same store: it fails the same way, not a 401.
            refused = assert_plain_500(stranger.get("/workers"))
        for body in (down, refused):
            (record,) = logged_with_traceback(caplog, body["request_id"])
            assert record.getMessage().startswith("rate limit check failed")
        assert httpx.get(f"{api.url}/docs", timeout=30).status_code == 200  # still serving
        redis.start()  # the same address: the server reconnects on its own
        assert wait_until(lambda: client.get("/workers").status_code == 200)
        assert stranger.get("/workers").status_code == 401


@pytest.mark.sqlite_only  # PostgreSQL's ALTER waits for the server's idle connections
def test_a_punch_the_store_cannot_take_is_a_500_whose_log_never_shows_the_kiosk_token(
        served, caplog):
    api, _ = served
    tenant = make_tenant()
    booth = kiosk.create_link(tenant.account_id, tenant.site.id, api.url).url
    token = booth.rsplit("/", 1)[1]
    pins.set_pin(tenant.account_id, tenant.worker.id, "2468")
    punch = {"pin": "2468", "action": "clock_in"}
    with table_away("time_entry"), caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
        failed = httpx.post(f"{booth}/punch", json=punch, timeout=30)
    body = assert_plain_500(failed)
    assert "time_entry" not in failed.text
    (record,) = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert record.exc_info is not None and token not in record.getMessage()
    # The same kiosk clocks the worker in once the store is back.
    assert httpx.post(f"{booth}/punch", json=punch, timeout=30).status_code == 200
    assert TimeEntry.select().where(TimeEntry.worker == tenant.worker.id).count() == 1
