"""Instructions per request of the full pipeline and the bare Litestar app, counted by callgrind.

    .venv/bin/python bench/api_instructions.py [--requests 2000] [--connections 8]

The servers of bench/api_throughput.py run under `valgrind --tool=callgrind
--instr-atstart=no`; after a warm-up, instrumentation is switched on, a fixed number
of requests is sent over keep-alive connections, and the instructions executed by the
server process (all its threads: event loop, log writer) are divided by that count.
The full server's API log writer gathers its batches over
`LOG_INTERVAL_S` rather than 0.25 s, so that at valgrind's pace its batches hold as
many requests as at full speed (a few hundred), as they do under wrk.
Unlike requests/s on a shared machine, the figure does not move with other load, so
it is what to compare before and after a change to the request path. It is not a
verdict (the ratio target is api_throughput.py's); the cost ratio stock/full is printed
as the best predictor of that ratio (and bare/full: the bare app on our protocol).
Slow: a few minutes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import answers, free_port, scratch_dir

HERE = Path(__file__).resolve().parent
THROUGHPUT = str(HERE / "api_throughput.py")
LOG_INTERVAL_S = 10.0  # valgrind runs Python ~40x slower: 0.25 s of batching at full speed


def send_requests(port: int, path: str, headers: dict[str, str], count: int,
                  connections: int) -> None:
    """`count` GETs over `connections` keep-alive connections in parallel; all must be 2xx."""
    failures: list[str] = []

    def one_connection(share: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        for _ in range(share):
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                failures.append(f"{response.status}")
        conn.close()

    shares = [count // connections + (i < count % connections) for i in range(connections)]
    threads = [threading.Thread(target=one_connection, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, e.g. {failures[0]}")


def callgrind(command: str, pid: int, out: Path) -> None:
    subprocess.run(["callgrind_control", command, str(pid)], check=True,
                   stdout=subprocess.DEVNULL, cwd=out.parent)


def total_instructions(out_prefix: Path) -> int:
    """The summed `totals:` lines of every dump callgrind wrote (their `summary:` can
    overflow in the dump made at exit)."""
    total = 0
    for dump in out_prefix.parent.glob(out_prefix.name + "*"):
        text = dump.read_text(errors="replace")
        match = re.search(r"^totals:\s+(\d+)", text, re.MULTILINE)
        if match:
            total += int(match.group(1))
    return total


def measure(kind: str, data_dir: Path, path: str, headers: dict[str, str], *, requests: int,
            warmup: int, connections: int) -> float:
    """Instructions per request of one server kind, under callgrind."""
    out_dir = data_dir / f"callgrind-{kind}"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir()
    out_prefix = out_dir / "callgrind.out"
    port = free_port()
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
         f"--callgrind-out-file={out_prefix}.%p", sys.executable, THROUGHPUT,
         "--serve", kind, "--port", str(port), "--data-dir", str(data_dir),
         "--log-interval", str(LOG_INTERVAL_S)],
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stderr=subprocess.DEVNULL)
    try:
        if not answers(f"http://127.0.0.1:{port}{path}", server, 600):
            raise SystemExit(f"the {kind} server did not start under valgrind")
        send_requests(port, path, headers, warmup, connections)
        time.sleep(LOG_INTERVAL_S + 2)  # the warm-up's log batch is written outside the count
        callgrind("--instr=on", server.pid, out_prefix)
        send_requests(port, path, headers, requests, connections)
        time.sleep(LOG_INTERVAL_S + 2)  # and the counted requests' batches inside it
        callgrind("--dump", server.pid, out_prefix)
        callgrind("--instr=off", server.pid, out_prefix)
    finally:
        server.send_signal(2)
        try:
            server.wait(120)
        except subprocess.TimeoutExpired:
            server.kill()
    return total_instructions(out_prefix) / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", choices=["full", "bare", "stock"])
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install -y valgrind")

    sys.path.insert(0, str(HERE))
    from api_throughput import seed

    data_dir = scratch_dir("api_instructions")
    state = seed(data_dir)
    path = f"/api/v1/workers?id={state['worker_id']}"
    auth = {"Authorization": f"Bearer {state['key']}"}
    sample = _sample(data_dir, path, auth)
    (data_dir / "worker.json").write_bytes(sample)
    figures = {}
    # "stock": the bare app on uvicorn's own protocol, the throughput verdict's baseline
    for kind, url, headers in (("stock", "/bare", {}), ("bare", "/bare", {}), ("full", path, auth)):
        if args.only in (None, kind):
            figures[kind] = measure(kind, data_dir, url, headers, requests=args.requests,
                                    warmup=args.warmup, connections=args.connections)
            print(f"  {kind:<5} {figures[kind] / 1000:8.0f}k instructions/request "
                  f"({args.requests} requests, {args.connections} connections)", flush=True)
    for bare in ("stock", "bare"):
        if bare in figures and "full" in figures:
            print(f"  cost ratio {bare}/full: {figures[bare] / figures['full']:.3f}")
    (data_dir / "figures.json").write_text(json.dumps(figures))


def _sample(data_dir: Path, path: str, auth: dict[str, str]) -> bytes:
    """The worker JSON the bare app returns, fetched from a full server (not under valgrind)."""
    import httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, THROUGHPUT, "--serve", "full", "--port",
                               str(port), "--data-dir", str(data_dir)])
    try:
        if not answers(f"http://127.0.0.1:{port}/docs", server, 60):
            raise SystemExit("the full server did not start")
        response = httpx.get(f"http://127.0.0.1:{port}{path}", headers=auth)
        response.raise_for_status()
        return response.content
    finally:
        server.send_signal(2)
        server.wait(60)


if __name__ == "__main__":
    main()
