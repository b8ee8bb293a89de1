"""A real API server on a loopback port, and tenants (account, key, site, worker) to call it as.

Plain helpers, imported by name (`from api_tenants import make_tenant`): a test module never
imports a conftest, which is a different module in each folder.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import httpx

from tempclock.api.config import Config
from tempclock.api.http import create_app
from tempclock.api.http.ratelimit import RateLimiter
from tempclock.api.server import ServerThread
from tempclock.api.services import accounts, keys, locations, workers
from tempclock.api.store import open_store

_names = itertools.count(1)


@dataclass
class Api:
    """A running server: its address, app and configuration."""

    url: str
    app: object
    config: Config
    thread: ServerThread

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        """An httpx client for /api/v1, sending `key` as a Bearer token when given."""
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)


@dataclass
class Tenant:
    """An account with API access on, a full-access key, a site and a worker."""

    account: accounts.Account
    key: str
    key_id: int
    site: locations.Location
    worker: workers.Worker
    extra_keys: dict[str, str] = field(default_factory=dict)

    @property
    def account_id(self) -> int:
        return self.account.id


def start_api(config: Config, **limiter_options: object) -> Api:
    """Open the store at `config` and serve a fresh app on a free loopback port."""
    open_store(config)
    limiter_options.setdefault("auth_failures_per_window", 100_000)
    app = create_app(limiter=RateLimiter(**limiter_options))
    thread = ServerThread(app).start()
    return Api(url=thread.url, app=app, config=config, thread=thread)


def issue(account_id: int, name: str = "Integration", **options: object) -> tuple[str, int]:
    issued = keys.issue_key(account_id, name, **options)
    return issued.plaintext, issued.key.id


def make_tenant(name: str | None = None, *, rate_limit: int = 100_000) -> Tenant:
    """A fresh account (API on) with a key, a site in London and a worker placed there."""
    n = next(_names)
    account = accounts.create_account(name or f"Agency {n}", api_enabled=True)
    key, key_id = issue(account.id, rate_limit=rate_limit)
    site = locations.create_location(account.id, locations.LocationCreate(
        name=f"Leeds DC {n}", timezone="Europe/London", latitude=53.8008, longitude=-1.4436,
        capacity=40))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", employee_ref=f"EMP-{n:04d}", location_id=site.id))
    return Tenant(account=account, key=key, key_id=key_id, site=site, worker=worker)
