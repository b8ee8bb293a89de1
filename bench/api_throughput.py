"""Throughput of the whole API pipeline against a bare Litestar JSON endpoint, same settings, same run.

    .venv/bin/python bench/api_throughput.py [--seconds 10] [--connections 32]

Whole pipeline: authenticated `GET /api/v1/workers?id=N` (gate: key check, rate
limiter with a key whose limit is raised, log entry; scope guard; service; envelope).
Bare: a Litestar app whose one endpoint returns the same JSON, no auth, no DB.
Both run in their own child process on uvicorn with `tempclock serve`'s settings
and are loaded by the same wrk. Target: full >= 0.40 of bare requests/s.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _common import ChildServer, scratch_dir, serve_forever, wrk

TARGET_RATIO = 0.40
STATE_FILE = "bench.json"


def seed(data_dir: Path) -> dict:
    from api.config import load_config
    from api.services import accounts, keys, locations, workers
    from api.store import close_store, open_store

    open_store(load_config(data_dir))
    account = accounts.create_account("Bench Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    worker = None
    for n in range(200):
        worker = workers.create_worker(account.id, workers.WorkerCreate(
            first_name=f"Worker{n}", last_name="Bench", employee_ref=f"B{n:04d}",
            location_id=site.id))
    key = keys.issue_key(account.id, "Bench", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    close_store()
    state = {"key": key, "worker_id": worker.id}
    (data_dir / STATE_FILE).write_text(json.dumps(state))
    return state


def bare_app(body: bytes):
    from litestar import Litestar, MediaType, get

    @get("/bare", media_type=MediaType.JSON, sync_to_thread=False)
    def bare() -> bytes:
        return body

    return Litestar([bare], openapi_config=None, logging_config=None)


def serve(kind: str, port: int, data_dir: Path) -> None:
    if kind == "full":
        from api.config import load_config
        from api.http import create_app
        from api.store import open_store

        open_store(load_config(data_dir))
        serve_forever(create_app(), port)
    else:
        serve_forever(bare_app((data_dir / "worker.json").read_bytes()), port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", choices=["full", "bare"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir)
        return

    import httpx

    data_dir = scratch_dir("api_throughput")
    state = seed(data_dir)
    auth = {"Authorization": f"Bearer {state['key']}"}
    full = ChildServer(__file__, "full", data_dir)
    try:
        path = f"/api/v1/workers?id={state['worker_id']}"
        sample = httpx.get(full.url + path, headers=auth)
        sample.raise_for_status()
        (data_dir / "worker.json").write_bytes(sample.content)
        wrk(full.url + path, seconds=2, connections=args.connections, headers=auth)  # warm up
        full_result = wrk(full.url + path, seconds=args.seconds, connections=args.connections,
                          headers=auth)
    finally:
        full.stop()
    bare = ChildServer(__file__, "bare", data_dir, ready_path="/bare")
    try:
        wrk(bare.url + "/bare", seconds=2, connections=args.connections)
        bare_result = wrk(bare.url + "/bare", seconds=args.seconds,
                          connections=args.connections)
    finally:
        bare.stop()

    ratio = full_result["rps"] / bare_result["rps"]
    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, uvicorn (tempclock serve settings), "
          f"one process each")
    for name, r in (("bare Litestar JSON", bare_result), ("full pipeline", full_result)):
        print(f"  {name:<20} {r['rps']:>8.0f} req/s   p50 {r['p50_ms']:6.2f} ms   "
              f"p99 {r['p99_ms']:6.2f} ms   non-2xx {r['non_2xx']}")
    verdict = "MET" if ratio >= TARGET_RATIO else "NOT MET"
    print(f"  ratio full/bare: {ratio:.2f}  (target >= {TARGET_RATIO:.2f}: {verdict})")
    if full_result["non_2xx"]:
        sys.exit("the full pipeline answered errors")


if __name__ == "__main__":
    main()
