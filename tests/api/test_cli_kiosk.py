"""`tempclock workers set-pin` and `tempclock kiosk link|revoke`, run as real processes."""

from __future__ import annotations

import json
import subprocess

import pytest
from cli_runs import one_error_line, one_json

from tempclock.api.config import load_config
from tempclock.api.services import accounts, locations, workers
from tempclock.api.store import close_store, open_store
from tempclock.api.store.models import WorkerPin


@pytest.fixture
def agency(tc, monkeypatch):
    """An account with a site and two workers, made through the services in this process."""
    monkeypatch.delenv("TEMPCLOCK_DATABASE_URL", raising=False)
    open_store(load_config(tc.data_dir))
    try:
        account = accounts.create_account("Acme")
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds", timezone="Europe/London"))
        made = [workers.create_worker(account.id, workers.WorkerCreate(
            first_name=name, last_name="Nowak", location_id=site.id)) for name in ("Ann", "Bob")]
    finally:
        close_store()
    return site, made


def refused(result: subprocess.CompletedProcess) -> str:
    return one_error_line(result, exit_code=1)


def test_set_pin_prints_the_pin_once_and_stores_only_its_hash(tc, agency):
    _, (ann, bob) = agency
    chosen = one_json(tc("workers", "set-pin", str(ann.id), "--pin", "4321", "--json"))
    assert chosen == {"worker_id": ann.id, "account_id": 1, "pin": "4321"}
    generated = one_json(tc("workers", "set-pin", str(bob.id), "--json"))["pin"]
    assert len(generated) == 6 and generated.isdigit()
    text = tc("workers", "set-pin", str(bob.id), "--pin", "98765").stdout
    assert "98765" in text and "not be shown again" in text
    open_store(load_config(tc.data_dir))
    try:
        stored = [p.pin_hash for p in WorkerPin.select()]
        assert len(stored) == 2 and all(len(h) == 64 and "4321" not in h for h in stored)
    finally:
        close_store()
    assert (tc.data_dir / "kiosk.secret").stat().st_mode & 0o777 == 0o600


def test_set_pin_refuses_a_taken_pin_a_bad_pin_and_an_unknown_worker(tc, agency):
    _, (ann, bob) = agency
    tc("workers", "set-pin", str(ann.id), "--pin", "1111")
    assert "already has this PIN" in refused(tc("workers", "set-pin", str(bob.id), "--pin",
                                                "1111", ok=False))
    assert "4 to 8 digits" in refused(tc("workers", "set-pin", str(bob.id), "--pin", "12",
                                         ok=False))
    assert "not found" in refused(tc("workers", "set-pin", "999", ok=False))
    failed = tc("workers", "set-pin", "999", "--json", ok=False)
    assert json.loads(failed.stdout)["code"] == "not_found"


def test_kiosk_link_prints_the_url_once_and_revoke_withdraws_it(tc, agency):
    site, _ = agency
    link = one_json(tc("kiosk", "link", "--location", str(site.id), "--base-url",
                       "https://192.168.1.20:8788", "--json"))
    assert set(link) == {"url", "location_id", "created_at"}
    assert link["url"].startswith("https://192.168.1.20:8788/kiosk/")
    assert link["location_id"] == site.id
    revoked = one_json(tc("kiosk", "revoke", "--location", str(site.id), "--json"))
    assert revoked == {"location_id": site.id, "revoked": True}
    assert "no kiosk link" in refused(tc("kiosk", "revoke", "--location", str(site.id),
                                         ok=False))


def test_kiosk_link_refuses_an_unknown_site_and_a_bad_base_url(tc, agency):
    site, _ = agency
    assert "not found" in refused(tc("kiosk", "link", "--location", "999", ok=False))
    assert "--base-url" in refused(tc("kiosk", "link", "--location", str(site.id),
                                      "--base-url", "javascript:alert(1)", ok=False))
