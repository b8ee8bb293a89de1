"""A real API server on a loopback port, over a real store, and helpers to talk to it.

Each test module gets its own data directory and server (module scope: starting
one takes a fraction of a second). Tests create their data through the services,
in the test's own thread, exactly as the desktop app would, and call the API with httpx.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import store_backends
from api_tenants import Api, Tenant, make_tenant, start_api
from schemathesis_runs import fuzzed_agency

from tempclock.api.config import load_config
from tempclock.api.store import close_store


@pytest.fixture(scope="module")
def api(tmp_path_factory, backend) -> Iterator[Api]:
    """A real server for the whole module, over a fresh store of the module's backend."""
    with pytest.MonkeyPatch.context() as monkeypatch, \
            store_backends.database_for(backend, monkeypatch):
        running = start_api(load_config(tmp_path_factory.mktemp("data")))
        yield running
        running.thread.stop()
        close_store()


@pytest.fixture(scope="module")
def fuzzed(api) -> Tenant:
    """An agency with data of every kind, for the schemathesis tests of a module."""
    return fuzzed_agency()


@pytest.fixture
def tenant(api) -> Tenant:
    return make_tenant()


@pytest.fixture
def client(api, tenant) -> Iterator[httpx.Client]:
    with api.client(tenant.key) as c:
        yield c
