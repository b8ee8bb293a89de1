"""The edges of the served apps under what is not an ordinary request: WebSocket handshakes
(refused), and a burst of writes larger than one group commit. (A kiosk punch the store cannot
take: tests/integration/test_api_gate_failures.py, beside the other 500s.)"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from litestar.exceptions import WebSocketDisconnect
from litestar.testing import TestClient

from tempclock.api.http import create_app
from tempclock.api.http.kiosk import create_kiosk_app
from tempclock.api.services import workers
from tempclock.api.store.models import TimeEntry


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
