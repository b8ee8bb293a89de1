"""When what the gate leans on fails (the rate-limit store, the key store), an integrator gets
a 500 problem with a request id and no internals, the failure is logged with its traceback,
and the server keeps serving: the next request after the repair is answered normally."""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
import store_backends
from api_tenants import Api, make_tenant, start_api
from serving import free_port

from tempclock.api.config import load_config
from tempclock.api.http.ratelimit import RedisRateLimitStore
from tempclock.api.services import api_logs
from tempclock.api.store import close_store, database

WAIT_S = 30.0
PROBLEM_TYPE = "application/problem+json"


def wait_until(condition, timeout: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


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


@contextlib.contextmanager
def keys_unreadable():
    """The API keys' table is gone for a while (every key lookup fails), then back."""
    database.execute_sql("ALTER TABLE api_key RENAME TO api_key_away")
    try:
        yield
    finally:
        database.execute_sql("ALTER TABLE api_key_away RENAME TO api_key")


@pytest.mark.sqlite_only  # PostgreSQL's ALTER waits for the server's idle connections
def test_a_key_check_the_store_cannot_answer_is_a_logged_500_and_the_key_works_after(
        served, caplog):
    api, _ = served
    tenant = make_tenant()
    with api.client(tenant.key) as client:
        with keys_unreadable(), caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
            body = assert_plain_500(client.get("/workers"))
        (record,) = logged_with_traceback(caplog, body["request_id"])
        assert record.getMessage().startswith("key check failed")
        assert client.get("/workers").status_code == 200  # the very next request
    # The admin finds the failed request in the API logs, under its request id.
    assert wait_until(lambda: any(
        row.request_id == body["request_id"] and row.status == 500
        for row in api_logs.list_logs(limit=50)))
