"""Throughput of the whole API pipeline against a bare Litestar JSON endpoint, same run.

    .venv/bin/python bench/api_throughput.py [--seconds 5] [--rounds 5] [--connections 32]

Whole pipeline: authenticated `GET /api/v1/workers?id=N` (gate: key check, rate
limiter with a key whose limit is raised, log entry; scope guard; service; envelope).
Bare: a Litestar app whose one endpoint returns the same JSON, no auth, no DB.
Both run in their own child process on uvicorn with `tempclock serve`'s settings
and are loaded by the same wrk, in alternating runs. Target: full >= 0.40 of bare
requests/s (the median of each round's full/bare ratio).

Which bare: the verdict's baseline is the bare app on *stock* uvicorn (its own httptools
protocol), what a user calls bare Litestar. Our HTTP edge (`tempclock.api.header_limit`:
the 64 KiB header cap, the client deadlines) is ours to pay for, like the gate, so it
counts on the full side only. The bare app on our protocol is measured too and its ratio
printed, for comparison with figures quoted before (which used it as the baseline).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from _common import (
    ChildServer,
    cpu_seconds,
    host_speed,
    print_runs,
    scratch_dir,
    serve_forever,
    verdict,
    wrk,
)

TARGET_RATIO = 0.40
STATE_FILE = "bench.json"
BARE = "bare Litestar JSON"  # on stock uvicorn: the verdict's baseline
BARE_OURS = "bare, our protocol"  # the same app on our protocol (the baseline before)
FULL = "full pipeline"


def seed(data_dir: Path) -> dict:
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, keys, locations, workers
    from tempclock.api.store import close_store, open_store

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
    """One async endpoint returning the same worker JSON (encoded per request, like ours)."""
    import msgspec
    from litestar import Litestar, get

    document = msgspec.json.decode(body)

    @get("/bare")
    async def bare() -> dict:
        return document

    return Litestar([bare], openapi_config=None, logging_config=None)


def serve(kind: str, port: int, data_dir: Path, log_interval: float | None = None) -> None:
    """Serve one kind of app; `log_interval` stretches the API log writer's batching (for
    bench/api_instructions.py, whose servers run under valgrind's slowdown)."""
    if kind == "full":
        from tempclock.api.config import load_config
        from tempclock.api.http import create_app
        from tempclock.api.services import idempotency
        from tempclock.api.services.api_logs import ApiLogWriter
        from tempclock.api.store import open_store

        open_store(load_config(data_dir))
        writer = None if log_interval is None else ApiLogWriter(
            interval=log_interval, maintenance=(idempotency.purge_expired,))
        serve_forever(create_app(log_writer=writer), port)
    else:
        serve_forever(bare_app((data_dir / "worker.json").read_bytes()), port,
                      stock_protocol=kind == "stock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating runs of each server (medians and per-round ratios reported)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--serve", choices=["full", "bare", "stock"])
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--log-interval", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.data_dir, args.log_interval)
        return

    import httpx

    data_dir = scratch_dir("api_throughput")
    state = seed(data_dir)
    auth = {"Authorization": f"Bearer {state['key']}"}
    path = f"/api/v1/workers?id={state['worker_id']}"
    full = ChildServer(__file__, "full", data_dir)
    bares: list[ChildServer] = []
    try:
        sample = httpx.get(full.url + path, headers=auth)
        sample.raise_for_status()
        (data_dir / "worker.json").write_bytes(sample.content)
        bares += [ChildServer(__file__, kind, data_dir, ready_path="/bare")
                  for kind in ("stock", "bare")]
        targets = {BARE: (bares[0].url + "/bare", None, bares[0]),
                   BARE_OURS: (bares[1].url + "/bare", None, bares[1]),
                   FULL: (full.url + path, auth, full)}
        for url, headers, _ in targets.values():  # warm up
            wrk(url, seconds=2, connections=args.connections, headers=headers)
        speed_before = host_speed()
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        # Alternate short runs so both see the same background load on this machine.
        for _ in range(args.rounds):
            for name, (url, headers, server) in targets.items():
                pid = server.process.pid
                cpu_before = cpu_seconds(pid), cpu_seconds(pid, thread=pid)
                result = wrk(url, seconds=args.seconds, connections=args.connections,
                             headers=headers)
                requests = max(1, result["requests"])
                result["cpu_us"] = (cpu_seconds(pid) - cpu_before[0]) / requests * 1e6
                result["loop_cpu_us"] = (cpu_seconds(pid, thread=pid) - cpu_before[1]) \
                    / requests * 1e6
                runs[name].append(result)
        speed_after = host_speed()
    finally:
        for server in (full, *bares):
            server.stop()

    print(f"wrk -t1 -c{args.connections}, {args.rounds} alternating runs of {args.seconds}s "
          "each; uvicorn with tempclock serve's settings (the stock bare on uvicorn's own "
          "protocol), one child process per server")
    medians = print_runs(runs, 20)
    for name, median in medians.items():  # where a request's CPU goes, by thread
        print(f"  {name:<20} server CPU per request: event-loop thread "
              f"{median['loop_cpu_us']:5.0f} us, other threads (log writer...) "
              f"{median['cpu_us'] - median['loop_cpu_us']:4.0f} us")
    ratio = _print_ratio(runs, medians, BARE, "bare on stock uvicorn; the verdict's")
    _print_ratio(runs, medians, BARE_OURS, "bare on our protocol, as quoted before")
    print(f"  {speed_before} before the runs; {speed_after.removeprefix('host: ')} after")
    errors = sum(r["non_2xx"] for rs in runs.values() for r in rs)
    verdict(ratio >= TARGET_RATIO and not errors,
            f"ratio {ratio:.2f}, target >= {TARGET_RATIO:.2f}; non-2xx answers: {errors}")


def _print_ratio(runs: dict[str, list[dict[str, float]]], medians: dict[str, dict[str, float]],
                 bare: str, label: str) -> float:
    """Print full/`bare` (the median of the rounds' ratios) and the CPU cost ratio; return
    the former."""
    # Each round's full run is set against the bare run of the same round: the machine's
    # speed drifts by half within minutes here, and adjacent runs share it.
    ratios = [f["rps"] / b["rps"] for f, b in zip(runs[FULL], runs[bare], strict=True)]
    ratio = statistics.median(ratios)
    print(f"  ratio full/bare ({label}), median of the rounds' ratios "
          f"({', '.join(f'{r:.2f}' for r in ratios)}): {ratio:.2f}  "
          f"(target >= {TARGET_RATIO:.2f})")
    cpu_ratio = medians[bare]["cpu_us"] / medians[FULL]["cpu_us"]
    print(f"    server CPU per request, bare/full: {cpu_ratio:.2f}  (less sensitive to other "
          "load on the machine)")
    return ratio


if __name__ == "__main__":
    main()
