"""Crash safety: `tempclock serve` killed with SIGKILL at random moments, over and over, while
several clients clock workers in and out, loses no acknowledged write.

A write is acknowledged when its client received a 2xx. After every kill the server is
started again on the same SQLite file; at the end every acknowledged clock-in and
clock-out is in the store, no worker has two open entries, the file passes
`PRAGMA integrity_check`, and every acknowledged write's outbox event is still there
to deliver (not yet fanned out, or queued for the webhook that subscribed).
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time

import httpx
import pytest
from serving import Load, Server, running, stored_time

from tempclock.api.services import accounts, deliveries, keys, locations, webhooks, workers
from tests.conftest import allow_internal_targets

pytestmark = [pytest.mark.sqlite_only,
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="finds the dispatcher processes through /proc")]

KILLS = 10
CLIENTS = 4
OWN_WORKERS = 2  # each client's own workers; every client also clocks the shared ones
SHARED_WORKERS = 2
UP_FOR_S = (0.3, 1.2)  # how long a server runs under load before it is killed


@pytest.fixture
def agency(store, receiver):
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    staff = [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=f"W{n}", last_name="Temp", location_id=site.id)).id
        for n in range(CLIENTS * OWN_WORKERS + SHARED_WORKERS)]
    allow_internal_targets(account.id)  # the receiver is on this PC
    subscription = webhooks.create_webhook(account.id, webhooks.WebhookCreate(
        url=f"{receiver.url}/hook", events=["clock_in", "clock_out"]))
    key = keys.issue_key(account.id, "Load", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    return account, staff, subscription.id, key


def test_acknowledged_clock_actions_survive_the_server_being_killed(config, agency, tmp_path):
    account, staff, subscription_id, key = agency
    seed = random.SystemRandom().randrange(2**32)
    rng = random.Random(seed)
    load = Load(key=key)
    shared = staff[:SHARED_WORKERS]
    own = staff[SHARED_WORKERS:]
    orphans: set[int] = set()
    started = time.monotonic()
    acknowledged_per_run = []
    try:
        for run in range(KILLS):
            server = Server(config, tmp_path / f"serve-{run}.log")
            load.url = server.url
            if run == 0:
                load.start([shared + own[n * OWN_WORKERS:(n + 1) * OWN_WORKERS]
                            for n in range(CLIENTS)], seed)
            before = len(load.acknowledged)
            # Mostly under load; now and then as soon as it answers (the dispatcher is still
            # starting then).
            time.sleep(0 if rng.random() < 0.2 else rng.uniform(*UP_FOR_S))
            orphans |= server.kill()
            acknowledged_per_run.append(len(load.acknowledged) - before)
        final = Server(config, tmp_path / "serve-final.log")
        load.url = final.url
        time.sleep(0.5)
    finally:
        load.finish()
    context = f"(seed {seed}; acknowledged per run {acknowledged_per_run})"
    assert not load.unexpected, f"{load.unexpected[:5]} {context}"
    assert sum(acknowledged_per_run) >= KILLS * 5, f"too little load to mean anything {context}"

    # The restarted server answers for what was written before the kills.
    with httpx.Client(base_url=f"{final.url}/api/v1",
                      headers={"Authorization": f"Bearer {key}"}) as http:
        page = http.get("/timesheets", params={"entry_filter": "all", "limit": 1}).json()
        assert page["pagination"]["total"] >= sum(a.action == "in" for a in load.acknowledged)
    final.stop()

    database = sqlite3.connect(config.sqlite_path)
    try:
        assert database.execute("PRAGMA integrity_check").fetchall() == [("ok",)], context
        entries = {row[0]: row[1:] for row in database.execute(
            "SELECT id, worker_id, clock_in, clock_out FROM time_entry")}
        for ack in load.acknowledged:
            assert ack.entry_id in entries, f"acknowledged {ack} was lost {context}"
            worker_id, clock_in, clock_out = entries[ack.entry_id]
            assert worker_id == ack.worker_id, context
            assert (clock_in if ack.action == "in" else clock_out) == stored_time(ack.at), (
                f"acknowledged {ack} is stored as {entries[ack.entry_id]} {context}")

        doubly_open = database.execute(
            "SELECT worker_id, COUNT(*) FROM time_entry WHERE clock_out IS NULL "
            "GROUP BY worker_id HAVING COUNT(*) > 1").fetchall()
        assert doubly_open == [], context

        events = {}
        for event_id, kind, data in database.execute(
                "SELECT id, type, data FROM event WHERE type IN ('clock_in', 'clock_out')"):
            events[kind, json.loads(data)["id"]] = event_id
        fanned_out = dict(database.execute("SELECT name, last_event_id FROM dispatch_cursor")
                          ).get("webhooks", 0)
        queued = {row[0] for row in database.execute(
            "SELECT event_id FROM webhook_delivery WHERE subscription_id = ?",
            (subscription_id,))}
        for ack in load.acknowledged:
            event_id = events.get((f"clock_{ack.action}", ack.entry_id))
            assert event_id is not None, f"the event of acknowledged {ack} was lost {context}"
            assert event_id > fanned_out or event_id in queued, (
                f"the event of acknowledged {ack} was fanned out but never queued {context}")
    finally:
        database.close()
    assert deliveries.cursor("webhooks") == fanned_out

    # No dispatcher outlives the server that started it, however early that server died.
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in orphans if running(pid)], "orphaned dispatchers keep running"
    print(f"{KILLS} kills, {len(load.acknowledged)} acknowledged clock actions, "
          f"{load.refused} refused, {load.lost_connections} lost connections, "
          f"{time.monotonic() - started:.1f} s {context}")
