"""The edges of the served apps under what is not an ordinary request: a kiosk punch the store
cannot take (a 500 that never shows the kiosk's token), WebSocket handshakes (refused), and a
burst of writes larger than one group commit."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tempclock.api.http import create_app
from tempclock.api.http.kiosk import create_kiosk_app
from tempclock.api.services import kiosk, pins, workers
from tempclock.api.store import database
from tempclock.api.store.models import TimeEntry


@contextlib.contextmanager
def time_entries_unwritable():
    """The time entries' table is gone for a while (every punch fails), then back."""
    database.execute_sql("ALTER TABLE time_entry RENAME TO time_entry_away")
    try:
        yield
    finally:
        database.execute_sql("ALTER TABLE time_entry_away RENAME TO time_entry")


@pytest.mark.sqlite_only  # PostgreSQL's ALTER waits for the server's idle connections
def test_a_punch_the_store_cannot_take_is_a_500_whose_log_never_shows_the_kiosk_token(
        api, tenant, caplog):
    booth = kiosk.create_link(tenant.account_id, tenant.site.id, api.url).url
    token = booth.rsplit("/", 1)[1]
    pins.set_pin(tenant.account_id, tenant.worker.id, "2468")
    punch = {"pin": "2468", "action": "clock_in"}
    with time_entries_unwritable(), caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
        failed = httpx.post(f"{booth}/punch", json=punch, timeout=30)
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("application/problem+json")
    body = failed.json()
    assert body["code"] == "internal_error" and "time_entry" not in failed.text
    (record,) = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert record.exc_info is not None and token not in record.getMessage()
    # The same kiosk clocks the worker in once the store is back.
    assert httpx.post(f"{booth}/punch", json=punch, timeout=30).status_code == 200
    assert TimeEntry.select().where(TimeEntry.worker == tenant.worker.id).count() == 1


@pytest.mark.parametrize("make_app", [create_app, create_kiosk_app], ids=["api", "kiosk"])
@pytest.mark.parametrize("path", ["/api/v1/workers", "/kiosk/some-token/punch", "/docs"])
def test_a_websocket_handshake_is_refused_on_every_path(store, make_app, path):
    # uvicorn passes WebSocket handshakes to the app when a websocket library is installed
    # (uvicorn[standard]); no route of ours accepts one, keyed or not.
    with (TestClient(make_app()) as client, pytest.raises(WebSocketDisconnect),
          client.websocket_connect(path)):
        pytest.fail(f"a WebSocket was accepted on {path}")


def test_a_burst_of_writes_larger_than_one_group_commit_is_all_recorded_once(api, tenant):
    site = tenant.site
    people = [workers.create_worker(tenant.account_id, workers.WorkerCreate(
        first_name="Burst", last_name=f"Worker {n}", employee_ref=f"BURST-{n:03d}",
        location_id=site.id)) for n in range(150)]

    async def clock_everyone_in() -> list[int]:
        limits = httpx.Limits(max_connections=len(people))
        async with httpx.AsyncClient(base_url=f"{api.url}/api/v1", timeout=60, limits=limits,
                                     headers={"Authorization": f"Bearer {tenant.key}"}) as c:
            answers = await asyncio.gather(*(
                c.post("/clock", json={"worker_id": w.id, "action": "in"})
                for w in people))
        return [a.status_code for a in answers]

    assert asyncio.run(clock_everyone_in()) == [201] * len(people)
    ids = [w.id for w in people]
    assert TimeEntry.select().where(TimeEntry.worker.in_(ids)).count() == len(people)
