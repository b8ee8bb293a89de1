"""Time entries at scale: a week of one site out of 1,000,000 entries, through the HTTP API.

    .venv/bin/python bench/timesheets_scale.py [--requests 300] [--keep]

Setup: 2,000 workers over 25 sites in 10 time zones, one year of completed entries
(500 per worker, 1,000,000 in all) bulk-inserted straight into SQLite in clock-in
order (as they accumulate in real use), each with the local `work_date` of its
clock-in in its site's zone (as clocking stores it).
Then one client asks `GET /api/v1/timesheets?date_from=..&date_to=..` (7 days)
`&location_id=..&limit=100` for random sites and weeks, sequentially, over loopback,
and checks each page's pagination total against a direct count.
Target: p95 <= 20 ms per request. `--keep` reuses the data set of the previous run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
import zoneinfo
from pathlib import Path

from _common import ROOT, ChildServer, percentile, serve_forever, verdict

TARGET_P95_MS = 20.0
WORKERS = 2_000
SITES = 25
ENTRIES_PER_WORKER = 500
DAYS = 365
ZONES = ("Europe/London", "Europe/Dublin", "Europe/Warsaw", "Europe/Bucharest", "Europe/Vilnius",
         "Europe/Lisbon", "America/New_York", "America/Chicago", "Asia/Tokyo",
         "Australia/Sydney")
DATA_DIR = ROOT / "bench" / "out" / "timesheets_scale"


def build(data_dir: Path) -> dict:
    """Create the account, sites, workers and 1,000,000 entries; returns what the client needs."""
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, keys, locations
    from tempclock.api.store import close_store, database, open_store
    from tempclock.api.store.models import TimeEntry, Worker, utcnow

    open_store(load_config(data_dir))
    account = accounts.create_account("Scale Staffing", api_enabled=True)
    sites = [locations.create_location(account.id, locations.LocationCreate(
        name=f"Site {n:02d}", timezone=ZONES[n % len(ZONES)])) for n in range(SITES)]
    now = utcnow()
    with database.atomic():
        Worker.insert_many([
            {"account": account.id, "first_name": f"Worker{n}", "last_name": "Scale",
             "employee_ref": f"S{n:05d}", "location": sites[n % SITES].id,
             "created_at": now, "updated_at": now}
            for n in range(WORKERS)
        ]).execute()
    worker_ids = [w.id for w in Worker.select(Worker.id).where(Worker.account == account.id)
                  .order_by(Worker.id)]
    columns = (TimeEntry.account, TimeEntry.worker, TimeEntry.location, TimeEntry.clock_in,
               TimeEntry.clock_out, TimeEntry.work_date, TimeEntry.break_seconds,
               TimeEntry.worked_seconds, TimeEntry.status, TimeEntry.source,
               TimeEntry.low_gps_confidence, TimeEntry.created_at, TimeEntry.updated_at)
    sql, numbers = TimeEntry.insert({c: n for n, c in enumerate(columns)}).sql()
    order = [int(float(n)) for n in numbers]
    first_day = (now - dt.timedelta(days=DAYS)).date()
    zones = {s.id: zoneinfo.ZoneInfo(s.timezone) for s in sites}
    rng = random.Random(7)
    started = time.perf_counter()
    entries: list[tuple[dt.datetime, int, int, dt.date]] = []
    for index, worker_id in enumerate(worker_ids):
        site = sites[index % SITES].id
        tz = zones[site]
        for i in range(ENTRIES_PER_WORKER):
            day = first_day + dt.timedelta(days=i * DAYS // ENTRIES_PER_WORKER)
            local_start = dt.datetime.combine(day, dt.time(6 if i % 2 == 0 else 15,
                                                           rng.randrange(60)), tz)
            clock_in = local_start.astimezone(dt.UTC).replace(tzinfo=None)
            entries.append((clock_in, worker_id, site, local_start.date()))
    entries.sort()  # ids follow clock-in time, as they do when people clock in
    cursor = database.cursor()
    with database.atomic():
        for start in range(0, len(entries), 50_000):
            rows = []
            for clock_in, worker_id, site, work_date in entries[start:start + 50_000]:
                clock_out = clock_in + dt.timedelta(hours=8)
                values = (account.id, worker_id, site, clock_in, clock_out, work_date, 1800,
                          8 * 3600 - 1800, "completed", "import", False, clock_out, clock_out)
                converted = [c.db_value(v) for c, v in zip(columns, values, strict=True)]
                rows.append([converted[n] for n in order])
            cursor.executemany(sql, rows)
    database.execute_sql("ANALYZE")
    total = TimeEntry.select().count()
    print(f"setup: {WORKERS} workers, {SITES} sites, {total:,} entries inserted in "
          f"{time.perf_counter() - started:.0f}s", flush=True)
    key = keys.issue_key(account.id, "Scale", rate_limit=keys.MAX_RATE_LIMIT).plaintext
    state = {"key": key, "sites": [s.id for s in sites], "first_day": first_day.isoformat(),
             "account_id": account.id}
    close_store()
    return state


def expected_total(data_dir: Path, account_id: int, site: int, start: dt.date,
                   end: dt.date) -> int:
    from tempclock.api.store import database

    return database.execute_sql(
        "SELECT COUNT(*) FROM time_entry WHERE account_id = ? AND location_id = ? "
        "AND work_date BETWEEN ? AND ? AND clock_out IS NOT NULL",
        (account_id, site, start.isoformat(), end.isoformat())).fetchone()[0]


def check_work_dates(account_id: int) -> None:
    """Every entry's work_date is the local date of its clock-in at its site (spot check)."""
    from tempclock.api.store.models import Location, TimeEntry

    zones = {loc.id: zoneinfo.ZoneInfo(loc.timezone) for loc in Location.select()}
    sample = (TimeEntry.select(TimeEntry.location, TimeEntry.clock_in, TimeEntry.work_date)
              .where(TimeEntry.account == account_id).order_by(TimeEntry.id).limit(20_000)
              .tuples())
    for location_id, clock_in, work_date in sample:
        local = clock_in.replace(tzinfo=dt.UTC).astimezone(zones[location_id]).date()
        assert local == work_date, (location_id, clock_in, work_date)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="reuse the previous data set")
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

    import json

    import httpx

    from tempclock.api.config import load_config
    from tempclock.api.store import open_store

    state_file = DATA_DIR / "state.json"
    if args.keep and state_file.exists():
        state = json.loads(state_file.read_text())
    else:
        import shutil

        shutil.rmtree(DATA_DIR, ignore_errors=True)
        DATA_DIR.mkdir(parents=True)
        state = build(DATA_DIR)
        state_file.write_text(json.dumps(state))
    open_store(load_config(DATA_DIR), upgrade=False)
    check_work_dates(state["account_id"])

    rng = random.Random(11)
    first_day = dt.date.fromisoformat(state["first_day"])
    server = ChildServer(__file__, "full", DATA_DIR)
    timings: list[float] = []
    totals: list[int] = []
    try:
        with httpx.Client(base_url=f"{server.url}/api/v1",
                          headers={"Authorization": f"Bearer {state['key']}"}) as client:
            for n in range(args.requests + 20):
                site = rng.choice(state["sites"])
                start = first_day + dt.timedelta(days=rng.randrange(DAYS - 7))
                end = start + dt.timedelta(days=6)
                path = (f"/timesheets?date_from={start}&date_to={end}&location_id={site}"
                        "&limit=100")
                began = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - began) * 1000
                response.raise_for_status()
                body = response.json()
                if n < 20:  # warm-up
                    continue
                timings.append(elapsed)
                total = body["pagination"]["total"]
                totals.append(total)
                if n % 25 == 0:
                    assert total == expected_total(DATA_DIR, state["account_id"], site, start,
                                                   end), path
                    assert len(body["data"]) == min(100, total)
    finally:
        server.stop()

    # The same kind of query straight through the service, to split HTTP from the store.
    from tempclock.api.services import timesheets

    service_ms: list[float] = []
    for _ in range(100):
        site = rng.choice(state["sites"])
        start = first_day + dt.timedelta(days=rng.randrange(DAYS - 7))
        params = timesheets.TimeEntryFilter(date_from=start, date_to=start + dt.timedelta(days=6),
                                            location_id=site, limit=100)
        began = time.perf_counter()
        timesheets.list_entries(state["account_id"], params)
        service_ms.append((time.perf_counter() - began) * 1000)

    print(f"GET /timesheets?date_from..date_to (7 days)&location_id&limit=100 over "
          f"1,000,000 entries: {len(timings)} sequential requests over loopback")
    print(f"  pagination total per page: median {statistics.median(totals):.0f} entries")
    p50, p95, p99 = (percentile(timings, p) for p in (50, 95, 99))
    print(f"  latency p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   "
          f"max {max(timings):.1f} ms")
    print(f"  the same queries in process (timesheets.list_entries, no HTTP): "
          f"p50 {percentile(service_ms, 50):.1f} ms   p95 {percentile(service_ms, 95):.1f} ms")
    verdict(p95 <= TARGET_P95_MS, f"target p95 <= {TARGET_P95_MS:.0f} ms: {p95:.1f} ms; "
                                  f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
