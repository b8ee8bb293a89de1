"""Shared pieces of the benchmarks: a scratch store, servers in child processes, wrk, percentiles."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def scratch_dir(name: str) -> Path:
    """A fresh data directory under bench/out (kept until the next run, for inspection)."""
    path = ROOT / "bench" / "out" / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, process: subprocess.Popen, timeout: float) -> bool:
    """Wait until `url` answers; False if `process` exits or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return True
        except httpx.TransportError:
            if process.poll() is not None:
                return False
            time.sleep(0.05)
    return False


def print_runs(runs: dict[str, list[dict[str, float]]], width: int) -> dict[str, dict[str, float]]:
    """One line per server: median req/s (and each run's), p50, p99, CPU; returns the medians."""
    medians = {}
    for name, results in runs.items():
        median = {k: statistics.median(r[k] for r in results) for k in results[0]}
        medians[name] = median
        each = ", ".join(f"{r['rps']:.0f}" for r in results)
        print(f"  {name:<{width}} {median['rps']:>7.0f} req/s (runs: {each})   "
              f"p50 {median['p50_ms']:6.2f} ms   p99 {median['p99_ms']:6.2f} ms   "
              f"server CPU {median['cpu_us']:5.0f} us/request   "
              f"non-2xx {sum(r['non_2xx'] for r in results)}")
    return medians


class ChildServer:
    """`python bench/<script> --serve KIND --port P --data-dir D` in a child process."""

    def __init__(self, script: str, kind: str, data_dir: Path, ready_path: str = "/docs"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, script, "--serve", kind, "--port", str(self.port),
             "--data-dir", str(data_dir)],
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        if not answers(self.url + ready_path, self.process, 30):
            raise RuntimeError(f"{kind} server did not start (or exited)")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def serve_forever(app: object, port: int, *, stock_protocol: bool = False) -> None:
    """Run `app` on loopback with the settings `tempclock serve` uses; with `stock_protocol`,
    on uvicorn's own httptools protocol rather than ours (`tempclock.api.header_limit`)."""
    from tempclock.api.server import build_server, tune_serving_process

    tune_serving_process()
    server = build_server(app, "127.0.0.1", port, log_level="warning")
    if stock_protocol:
        server.config.http = "httptools"  # resolved to its class when the server starts
    with contextlib.suppress(KeyboardInterrupt):  # the parent stops us with SIGINT
        server.run()


def wrk(url: str, *, seconds: int, connections: int, threads: int = 1,
        headers: dict[str, str] | None = None, script: str | None = None,
        stderr: object = None) -> dict[str, float]:
    """Run wrk; returns requests/s, p50/p99 (ms) and the count of non-2xx answers."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
            "--timeout", "10s"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if script is not None:
        args += ["-s", script]
    out = subprocess.run([*args, url], stdout=subprocess.PIPE, stderr=stderr or subprocess.PIPE,
                         text=True, check=True).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
    }


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User + system CPU time a process (or one of its threads) has used so far (Linux /proc).

    `thread=pid` is the main thread: the event loop of a bench server; the process less it
    is the rest (the API log writer, above all).
    """
    stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    fields = Path(stat).read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_speed() -> str:
    """How fast this machine runs Python right now (shared machines drift by half within
    minutes): the best of five `sum(range(100))` timings, as `python -m timeit` reports."""
    import timeit

    best = min(timeit.repeat("sum(range(100))", number=100_000, repeat=5)) / 100_000
    return (f"host: sum(range(100)) {best * 1e9:.0f} ns, load average "
            f"{os.getloadavg()[0]:.1f}")


def verdict(met: bool, target: str) -> None:
    """End a benchmark: print `verdict: MET (target)` or `verdict: NOT MET (target)`, and exit
    with status 1 when not met, so a script or CI running the benchmark sees the failure."""
    print(f"verdict: {'MET' if met else 'NOT MET'} ({target})", flush=True)
    if not met:
        sys.exit(1)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def temp_data_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="tempclock-bench-"))
