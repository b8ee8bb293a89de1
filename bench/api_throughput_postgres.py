"""The API on PostgreSQL with two workers against one SQLite worker, and the shared rate limit.

    TEMPCLOCK_BENCH_POSTGRES_URL=postgresql://user:pw@127.0.0.1:5432/db \\
    TEMPCLOCK_BENCH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python bench/api_throughput_postgres.py [--seconds 5] [--rounds 3] [--connections 32]

(The URLs default to TEMPCLOCK_TEST_POSTGRES_URL / TEMPCLOCK_TEST_REDIS_URL; the role
must be allowed to create databases: the benchmark makes one and drops it.)

1. Throughput: the request of bench/api_throughput.py (authenticated
   `GET /api/v1/workers?id=N`, the whole pipeline) through `tempclock serve --workers 2`
   on PostgreSQL with the rate limits in Redis, and through `tempclock serve` (one
   worker) on SQLite, with the same data; alternating wrk runs, medians, and the ratio.
2. Rate limit across the two workers: 200 simultaneous requests with one fresh key
   (60 a minute) must give exactly 60 successes; also reports how many requests each
   worker answered.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from _common import ROOT, answers, cpu_seconds, free_port, print_runs, scratch_dir, verdict, wrk

WORKERS = 2
BURST = 200


def seed(env: dict[str, str], data_dir: Path) -> tuple[str, int]:
    """The data of bench/api_throughput.py in the store `env` names (its first account);
    returns a key without a practical limit and a worker's id."""
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, keys, locations, workers
    from tempclock.api.store import close_store, open_store

    open_store(load_config(data_dir, environ=env))
    try:
        account = accounts.create_account("Bench Staffing", api_enabled=True)
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds DC", timezone="Europe/London"))
        worker = None
        for n in range(200):
            worker = workers.create_worker(account.id, workers.WorkerCreate(
                first_name=f"Worker{n}", last_name="Bench", employee_ref=f"B{n:04d}",
                location_id=site.id))
        key = keys.issue_key(account.id, "Bench", rate_limit=keys.MAX_RATE_LIMIT).plaintext
        return key, worker.id
    finally:
        close_store()


def fresh_key(env: dict[str, str], data_dir: Path) -> str:
    """A new key with the default limit (60 a minute) for the account `seed` made."""
    from tempclock.api.config import load_config
    from tempclock.api.services import keys
    from tempclock.api.store import close_store, open_store

    open_store(load_config(data_dir, environ=env))
    try:
        return keys.issue_key(1, "Burst").plaintext
    finally:
        close_store()


class Serve:
    """`tempclock serve` in a child process on a free loopback port."""

    def __init__(self, env: dict[str, str], data_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"serve-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tempclock.api.cli", "serve", "--no-dispatch", "--port",
             str(self.port), "--data-dir", str(data_dir), *args],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        if answers(f"{self.url}/docs", self.process, 60):
            return
        raise RuntimeError(f"tempclock serve did not start:\n{self.log.read_text()}")

    def pids(self) -> list[int]:
        """This server's processes: the parent and, with --workers, its workers."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [self.process.pid, *map(int, children.read_text().split())]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def burst(url: str, key: str) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        headers = {"Authorization": f"Bearer {key}"}
        return await asyncio.gather(*(client.get("/api/v1/workers", headers=headers)
                                      for _ in range(BURST)))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=5, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating runs of each server (medians are reported)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    admin_url = (os.environ.get("TEMPCLOCK_BENCH_POSTGRES_URL")
                 or os.environ.get("TEMPCLOCK_TEST_POSTGRES_URL"))
    redis_url = (os.environ.get("TEMPCLOCK_BENCH_REDIS_URL")
                 or os.environ.get("TEMPCLOCK_TEST_REDIS_URL"))
    if not admin_url or not redis_url:
        sys.exit("set TEMPCLOCK_BENCH_POSTGRES_URL and TEMPCLOCK_BENCH_REDIS_URL")

    import psycopg2

    name = f"tempclock_bench_{os.getpid()}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    base = {k: v for k, v in os.environ.items()
            if not k.startswith("TEMPCLOCK_") or k.startswith("TEMPCLOCK_BENCH")}
    postgres_env = {**base, "TEMPCLOCK_DATABASE_URL": with_database(admin_url, name),
                    "TEMPCLOCK_REDIS_URL": redis_url}
    sqlite_env = dict(base)
    pg_dir, sqlite_dir = scratch_dir("api_throughput_postgres"), scratch_dir(
        "api_throughput_sqlite")
    servers: dict[str, Serve] = {}
    try:
        pg_key, pg_worker = seed(postgres_env, pg_dir)
        sqlite_key, sqlite_worker = seed(sqlite_env, sqlite_dir)
        servers["SQLite, 1 worker"] = Serve(sqlite_env, sqlite_dir)
        servers[f"PostgreSQL, {WORKERS} workers"] = Serve(postgres_env, pg_dir, "--workers",
                                                          str(WORKERS))
        targets = {
            "SQLite, 1 worker": (f"/api/v1/workers?id={sqlite_worker}", sqlite_key),
            f"PostgreSQL, {WORKERS} workers": (f"/api/v1/workers?id={pg_worker}", pg_key),
        }
        for name_, (path, key) in targets.items():  # warm up
            wrk(servers[name_].url + path, seconds=2, connections=args.connections,
                headers={"Authorization": f"Bearer {key}"})
        runs: dict[str, list[dict[str, float]]] = {n: [] for n in targets}
        # Alternate short runs so both see the same background load on this machine.
        for _ in range(args.rounds):
            for name_, (path, key) in targets.items():
                server = servers[name_]
                before = server.cpu()
                result = wrk(server.url + path, seconds=args.seconds,
                             connections=args.connections,
                             headers={"Authorization": f"Bearer {key}"})
                result["cpu_us"] = (server.cpu() - before) / max(1, result["requests"]) * 1e6
                runs[name_].append(result)

        # The shared rate limit: one fresh key, 200 requests at once, over both workers.
        responses = asyncio.run(burst(servers[f"PostgreSQL, {WORKERS} workers"].url,
                                      fresh_key(postgres_env, pg_dir)))
    finally:
        for server in servers.values():
            server.stop()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()

    print(f"wrk -t1 -c{args.connections}, {args.rounds} alternating runs of {args.seconds}s "
          f"each; authenticated GET /api/v1/workers?id=N; {os.cpu_count()} CPUs; "
          "tempclock serve --no-dispatch")
    medians = print_runs(runs, 26)
    names = list(runs)
    ratio = medians[names[1]]["rps"] / medians[names[0]]["rps"]
    print(f"  ratio {names[1]} / {names[0]} (medians): {ratio:.2f}")
    statuses = [r.status_code for r in responses]
    tags = {}
    for r in responses:
        tag = r.headers["X-Request-ID"][:16]
        tags[tag] = tags.get(tag, 0) + 1
    ok = statuses.count(200)
    print(f"rate limit across {WORKERS} workers: {BURST} simultaneous requests with one fresh "
          f"key (60/min): {ok} x 200, {statuses.count(429)} x 429, others "
          f"{len(statuses) - ok - statuses.count(429)}; answered by "
          f"{len(tags)} workers ({', '.join(str(n) for n in tags.values())}) -> "
          f"{'exactly 60: MET' if ok == 60 else 'NOT 60: NOT MET'}")
    failed = sum(r["non_2xx"] for rs in runs.values() for r in rs)
    verdict(ok == 60 and not failed,
            f"shared limit exact across {WORKERS} workers: {ok} of 60; non-2xx during the "
            f"throughput runs: {failed}; the throughput ratio has no target, reported only")

if __name__ == "__main__":
    main()
