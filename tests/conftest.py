"""Shared fixtures: a real SQLite store in a temp directory, and small factories."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from api.config import load_config  # noqa: E402
from api.services import accounts, locations, workers  # noqa: E402
from api.store import close_store, open_store  # noqa: E402


@pytest.fixture
def config(tmp_path, monkeypatch):
    """The configuration of a fresh data directory (SQLite unless TEMPCLOCK_DATABASE_URL)."""
    monkeypatch.delenv("TEMPCLOCK_DATA_DIR", raising=False)
    return load_config(tmp_path / "data")


@pytest.fixture
def store(config):
    """An open, migrated store in a temp directory; closed afterwards."""
    db = open_store(config)
    yield db
    close_store()


@pytest.fixture
def account(store):
    return accounts.create_account("Acme Staffing", api_enabled=True)


@pytest.fixture
def other_account(store):
    return accounts.create_account("Rival Recruitment", api_enabled=True)


@pytest.fixture
def make_location(store):
    def make(account_id: int, name: str = "Leeds DC", **fields):
        fields.setdefault("timezone", "Europe/London")
        fields.setdefault("latitude", 53.8008)
        fields.setdefault("longitude", -1.4436)
        return locations.create_location(account_id, locations.LocationCreate(name=name, **fields))

    return make


@pytest.fixture
def make_worker(store):
    counter = iter(range(1, 10_000))

    def make(account_id: int, first_name: str = "Ann", last_name: str = "Nowak", **fields):
        fields.setdefault("employee_ref", f"EMP-{next(counter):04d}")
        return workers.create_worker(
            account_id,
            workers.WorkerCreate(first_name=first_name, last_name=last_name, **fields),
        )

    return make


@pytest.fixture
def site(account, make_location):
    return make_location(account.id)


@pytest.fixture
def worker(account, site, make_worker):
    return make_worker(account.id, location_id=site.id)
