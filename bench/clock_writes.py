"""Clock writes: 32 concurrent clients clocking distinct workers in and out over HTTP.

    .venv/bin/python bench/clock_writes.py [--seconds 20] [--connections 32] [--profile]

wrk keeps 32 connections busy with `POST /api/v1/clock`; its Lua script walks through
2,000 workers in turn (in, then out on the next lap), so the requests in flight are
always for distinct workers and each worker's actions arrive in order. The store is
SQLite with the production settings (WAL, synchronous=FULL, BEGIN IMMEDIATE).
Afterwards it checks that no request failed, that no worker has two open entries and
that the entries match the actions. Target: >= 1,000 clock actions/s, zero errors.
`--profile` samples the server with py-spy during the run and prints where time goes.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    ChildServer,
    cpu_seconds,
    host_speed,
    scratch_dir,
    serve_forever,
    verdict,
    wrk,
)

TARGET = 1_000
WORKERS_PER_RUN = 2_000

LUA = """
local first, count, key = %(first)d, %(count)d, "%(key)s"
local k = -1
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
request = function()
  if k < 0 then  -- wrk calls this once to check the script and drops the request
    k = 0
    return wrk.format("GET", "/api/v1/workers?limit=1")
  end
  local worker = first + (k %% count)
  local action = (math.floor(k / count) %% 2 == 0) and "in" or "out"
  k = k + 1
  return wrk.format(nil, "/api/v1/clock", nil,
                    string.format('{"worker_id": %%d, "action": "%%s"}', worker, action))
end
response = function(status, headers, body)
  if status >= 300 then io.stderr:write(status .. " " .. body .. "\\n") end
end
"""


def seed(data_dir: Path, workers: int) -> dict:
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, keys, locations
    from tempclock.api.store import close_store, database, open_store
    from tempclock.api.store.models import Worker, utcnow

    open_store(load_config(data_dir))
    account = accounts.create_account("Clock Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    now = utcnow()
    with database.atomic():
        for start in range(0, workers, 500):
            Worker.insert_many([
                {"account": account.id, "first_name": f"W{n}", "last_name": "Clock",
                 "employee_ref": f"C{n:05d}", "location": site.id, "created_at": now,
                 "updated_at": now}
                for n in range(start, min(workers, start + 500))
            ]).execute()
    first = Worker.select(Worker.id).where(Worker.account == account.id).order_by(
        Worker.id).first().id
    key = keys.issue_key(account.id, "Clock bench", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    close_store()
    return {"key": key, "first": first, "account_id": account.id}


def run_wrk(url: str, script: str, seconds: int, connections: int) -> tuple[dict, list[str]]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    errors_file = Path(f.name).with_suffix(".err")
    with errors_file.open("w") as err:
        result = wrk(url, seconds=seconds, connections=connections, script=f.name, stderr=err)
    errors = [line for line in errors_file.read_text().splitlines() if line.strip()]
    return result, errors


def profile(pid: int, seconds: int) -> subprocess.Popen | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("(py-spy not installed: pip install py-spy)")
        return None
    out = Path(tempfile.gettempdir()) / "clock_writes.spy"
    return subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "200",
                             "--nonblocking", "--gil", "-f", "raw", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def print_profile(top: int = 18) -> None:
    path = Path(tempfile.gettempdir()) / "clock_writes.spy"
    if not path.exists():
        return
    own: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack:
            continue
        frames = stack.split(";")
        total += int(n)
        own[frames[-1]] += int(n)
        for frame in set(frames):
            inside[frame] += int(n)
    print(f"profile (py-spy --gil: {total} samples of the thread holding the GIL):")
    print("  own time:")
    for frame, n in own.most_common(top):
        print(f"    {n / total:6.1%}  {frame[:110]}")
    print("  including callees (tempclock code):")
    ours = [(f, n) for f, n in inside.most_common() if "/api/" in f or "(api/" in f]
    for frame, n in ours[:top]:
        print(f"    {n / total:6.1%}  {frame[:110]}")


def expected_entries(actions: int) -> tuple[int, int]:
    """Entries opened and closed by the first `actions` of the Lua walk (in on even laps)."""
    laps, rest = divmod(actions, WORKERS_PER_RUN)
    ins = (laps + 1) // 2 * WORKERS_PER_RUN + (rest if laps % 2 == 0 else 0)
    return ins, actions - ins


def entries_match_actions(answered: int, in_flight: int, opened: int, closed: int) -> str:
    """'' when the store holds what the answered actions did, else what differs.

    Up to `in_flight` requests (one per connection) may have reached the server when wrk
    stopped counting, so the store may hold up to that many actions more than answered.
    """
    low, high = expected_entries(answered), expected_entries(answered + in_flight)
    if low[0] <= opened <= high[0] and low[1] <= closed <= high[1]:
        return ""
    return (f"MISMATCH: {answered:,} actions answered should open {low[0]:,}-{high[0]:,} and "
            f"close {low[1]:,}-{high[1]:,} entries; the store has {opened:,} and {closed:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--serve")
    parser.add_argument("--port", type=int)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    if args.serve:
        from tempclock.api.config import load_config
        from tempclock.api.http import create_app
        from tempclock.api.store import open_store

        open_store(load_config(args.data_dir))
        serve_forever(create_app(), args.port)
        return

    data_dir = scratch_dir("clock_writes")
    state = seed(data_dir, 2 * WORKERS_PER_RUN)
    server = ChildServer(__file__, "full", data_dir)
    url = server.url + "/api/v1/clock"
    try:
        warm = LUA % {"first": state["first"], "count": WORKERS_PER_RUN, "key": state["key"]}
        run_wrk(url, warm, 3, args.connections)
        spy = profile(server.process.pid, args.seconds - 2) if args.profile else None
        main_run = LUA % {"first": state["first"] + WORKERS_PER_RUN, "count": WORKERS_PER_RUN,
                          "key": state["key"]}
        speed_before = host_speed()
        cpu_before = cpu_seconds(server.process.pid)
        result, errors = run_wrk(url, main_run, args.seconds, args.connections)
        cpu_used = cpu_seconds(server.process.pid) - cpu_before
        speed_after = host_speed()
        if spy is not None:
            spy.wait()
    finally:
        server.stop()

    from tempclock.api.config import load_config
    from tempclock.api.store import database, open_store

    open_store(load_config(data_dir), upgrade=False)
    duplicates = database.execute_sql(
        "SELECT worker_id FROM time_entry WHERE clock_out IS NULL GROUP BY worker_id "
        "HAVING COUNT(*) > 1").fetchall()
    opened, closed = database.execute_sql(
        "SELECT COUNT(*), COUNT(clock_out) FROM time_entry WHERE worker_id >= ?",
        (state["first"] + WORKERS_PER_RUN,)).fetchone()
    mismatch = entries_match_actions(result["requests"], args.connections, opened, closed)
    rate = (result["requests"] - len(errors)) / args.seconds
    print(f"POST /api/v1/clock, {args.connections} connections (wrk), {args.seconds}s, "
          f"SQLite WAL + synchronous=FULL")
    print(f"  {result['requests']:,} clock actions: {rate:,.0f} actions/s sustained   "
          f"p50 {result['p50_ms']:.1f} ms   p99 {result['p99_ms']:.1f} ms")
    per_action = cpu_used / max(1, result["requests"])
    print(f"  server CPU {per_action * 1e6:,.0f} us per action ({cpu_used / args.seconds:.2f} "
          f"cores busy): one core could do {1 / per_action:,.0f} actions/s")
    print(f"  errors: {len(errors)} (non-2xx: {result['non_2xx']})   duplicate open entries: "
          f"{len(duplicates)}   entries opened {opened:,}, closed {closed:,}")
    print(f"  entries versus actions: {mismatch or 'every action answered is one entry opened or closed'}")
    print(f"  {speed_before} before the run; {speed_after.removeprefix('host: ')} after")
    for line in errors[:5]:
        print(f"    {line[:200]}")
    ok = (rate >= TARGET and not errors and not result["non_2xx"] and not duplicates
          and not mismatch)
    if args.profile:
        print_profile()
    verdict(ok, f"{rate:,.0f} actions/s, target >= {TARGET:,}; errors "
                f"{len(errors) + result['non_2xx']}, duplicate open entries {len(duplicates)}, "
                f"entries {'match' if not mismatch else 'DO NOT match'} the actions "
                "(targets: 0, 0, match)")


if __name__ == "__main__":
    main()
