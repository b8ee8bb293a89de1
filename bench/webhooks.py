"""Webhook delivery rate, and what delivering costs the API's latency (issue 5).

    .venv/bin/python bench/webhooks.py [--events N] [--seconds 6] [--rounds 5]

Runs the API (as `tempclock serve` does), a receiver on loopback, and the dispatcher
in its own process (as the host runs it). Each round measures the API's p50 under a
steady read load (wrk, authenticated `GET /api/v1/workers?id=N`) twice: once with
nothing to deliver (the baseline), once while the dispatcher works through a queue of
webhook deliveries: `--events` of them, or by default a queue sized to the window (4000
in the first round, then the previous round's rate over `--seconds` plus a quarter, so
the deliveries span the load window on a faster machine too). Targets: ≥ 200 deliveries/s; p50 with delivery within
10% of the baseline measured in the same round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import threading
import time
from pathlib import Path

from _common import ChildServer, scratch_dir, serve_forever, verdict, wrk

TARGET_RATE = 200
TARGET_P50_RATIO = 1.10
FIRST_QUEUE = 4000
QUEUE_MARGIN = 1.25  # a queue lasting a quarter longer than the window at the last rate
MIN_COVER = 0.8  # share of the load window the deliveries must span for the p50 verdict
STATE = "bench.json"


def receiver_app():
    """A bare ASGI sink: reads the body, answers 204."""

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(kind: str, port: int, data_dir: Path) -> None:
    if kind == "api":
        from tempclock.api.config import load_config
        from tempclock.api.http import create_app
        from tempclock.api.store import open_store

        open_store(load_config(data_dir))
        serve_forever(create_app(), port)
    else:
        serve_forever(receiver_app(), port)


def seed(data_dir: Path, receiver_url: str) -> dict:
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, keys, locations, webhooks, workers
    from tempclock.api.store import close_store, open_store

    open_store(load_config(data_dir))
    account = accounts.create_account("Bench Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(name="Leeds DC", timezone="Europe/London"))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", employee_ref="B1", location_id=site.id))
    key = keys.issue_key(account.id, "Bench", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    accounts.allow_internal_targets(account.id, True, by="bench")  # the receiver is on this PC
    webhooks.create_webhook(account.id, webhooks.WebhookCreate(url=receiver_url + "/hook",
                                                               events=["worker_updated"]))
    close_store()
    return {"key": key, "worker_id": worker.id, "account_id": account.id}


def queue_events(data_dir: Path, account_id: int, worker_id: int, count: int) -> None:
    """`count` worker_updated events in the outbox, as a burst of changes would leave them."""
    from tempclock.api.config import load_config
    from tempclock.api.services import workers
    from tempclock.api.store import close_store, database, open_store
    from tempclock.api.store.models import Event, utcnow

    open_store(load_config(data_dir))
    data = json.dumps(json.loads(json.dumps(workers.get_worker(account_id, worker_id),
                                            default=str)))
    now = utcnow()
    with database.atomic():
        for start in range(0, count, 500):
            Event.insert_many([{"account": account_id, "type": "worker_updated", "data": data,
                                "created_at": now + dt.timedelta(seconds=1)}
                               for _ in range(min(500, count - start))]).execute()
    close_store()


def delivered(data_dir: Path) -> int:
    import sqlite3

    with sqlite3.connect(data_dir / "tempclock.db") as conn:
        return conn.execute("SELECT COUNT(*) FROM webhook_delivery WHERE state = 'delivered'"
                            ).fetchone()[0]


class DeliveryWatch:
    """Polls the delivered count while the load runs; notes when the last delivery landed.

    The rate is the events over the time from their queueing to the last delivery, not
    over the load window (counting after the window capped it at events/seconds).
    """

    POLL_S = 0.02

    def __init__(self, data_dir: Path, before: int, events: int) -> None:
        self.data_dir, self.before, self.events = data_dir, before, events
        self.done_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self.started = time.monotonic()
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            if delivered(self.data_dir) - self.before >= self.events:
                self.done_at = time.monotonic()
                return
            time.sleep(self.POLL_S)

    def finish(self, timeout: float) -> float:
        """Seconds from queueing to the last delivery (waits for it, up to `timeout` s)."""
        self._thread.join(timeout)
        self._stop.set()
        if self.done_at is None:
            done = delivered(self.data_dir) - self.before
            raise SystemExit(f"deliveries did not finish within {timeout:.0f} s "
                             f"({done} of {self.events} delivered)")
        return self.done_at - self.started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=None,
                        help="deliveries queued per round (default: sized to the window)")
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds of baseline then delivery; the verdict is their median "
                             "ratio (single rounds vary by about 10%% here)")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--serve", choices=["api", "receiver"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tempclock.api.config import load_config
    from tempclock.api.dispatcher import start_process

    data_dir = scratch_dir("webhooks") / "data"
    data_dir.mkdir()
    receiver = ChildServer(__file__, "receiver", data_dir, ready_path="/")
    state = seed(data_dir, receiver.url)
    api = ChildServer(__file__, "api", data_dir)
    url = f"{api.url}/api/v1/workers?id={state['worker_id']}"
    headers = {"Authorization": f"Bearer {state['key']}"}
    base_p50, busy_p50, rates, covers = [], [], [], []
    dispatcher = start_process(load_config(data_dir))  # the host's dispatcher, idle
    try:
        wrk(url, seconds=2, connections=args.connections, headers=headers)  # warm up
        for round_no in range(1, args.rounds + 1):
            quiet = wrk(url, seconds=args.seconds, connections=args.connections,
                        headers=headers)
            events = args.events or (FIRST_QUEUE if not rates else max(
                FIRST_QUEUE, round(rates[-1] * args.seconds * QUEUE_MARGIN)))
            before = delivered(data_dir)
            watch = DeliveryWatch(data_dir, before, events)
            queue_events(data_dir, state["account_id"], state["worker_id"], events)
            watch.start()  # times from the moment the events are in the outbox
            window_start = time.monotonic()
            busy = wrk(url, seconds=args.seconds, connections=args.connections,
                       headers=headers)
            window = time.monotonic() - window_start
            took = watch.finish(timeout=300)
            rate = events / took
            covered = min(1.0, took / window)
            covers.append(covered)
            base_p50.append(quiet["p50_ms"])
            busy_p50.append(busy["p50_ms"])
            rates.append(rate)
            print(f"round {round_no}: baseline p50 {quiet['p50_ms']:.2f} ms "
                  f"({quiet['rps']:.0f} req/s); while delivering p50 {busy['p50_ms']:.2f} ms "
                  f"({busy['rps']:.0f} req/s); {events} deliveries in {took:.1f} s = "
                  f"{rate:.0f}/s (deliveries ran through {covered:.0%} of the load window)")
    finally:
        dispatcher.stop()
        api.stop()
        receiver.stop()
    rate = statistics.median(rates)
    ratio = statistics.median(b / q for b, q in zip(busy_p50, base_p50, strict=True))
    cover = statistics.median(covers)
    print(f"\nwebhook deliveries/s (median, queued to last delivered): {rate:.0f}   "
          f"target ≥ {TARGET_RATE}: {'MET' if rate >= TARGET_RATE else 'NOT MET'}")
    # The latency target is about the API while delivering: a window mostly idle says little.
    if cover < MIN_COVER:
        latency = (f"INCONCLUSIVE (deliveries ran through only {cover:.0%} of the window; "
                   "raise --events)")
    else:
        latency = "MET" if ratio <= TARGET_P50_RATIO else "NOT MET"
    print(f"API p50 while delivering / baseline (median of rounds): {ratio:.3f}   "
          f"target ≤ {TARGET_P50_RATIO:.2f}: {latency}")
    verdict(rate >= TARGET_RATE and latency == "MET",
            f"deliveries {rate:.0f}/s, target >= {TARGET_RATE}; API p50 ratio {ratio:.3f}: {latency}")

if __name__ == "__main__":
    main()
