"""Connector benchmarks (issue 5): ATS import of 10,000 workers; payroll export of a month.

    .venv/bin/python bench/connectors.py

Targets: ATS import of 10,000 workers ≤ 3 s; payroll export of a month for 2,000
workers (~40,000 entries) ≤ 3 s. Each is compared with a floor measured in the same
run on the same machine: the raw sqlite3 work the connector cannot avoid (insert the
rows / read the entries), so the ratio says what the connector adds.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._common import scratch_dir, verdict  # noqa: E402
from tempclock.api.config import load_config  # noqa: E402
from tempclock.api.services import accounts, connectors, departments, locations  # noqa: E402
from tempclock.api.store import close_store, database, open_store  # noqa: E402
from tempclock.api.store.models import TimeEntry, Worker, utcnow  # noqa: E402
from tempclock.plugins.ats_csv import AtsCsvImport  # noqa: E402
from tempclock.plugins.payroll_csv import PayrollCsvExport  # noqa: E402

ATS_ROWS = 10_000
PAYROLL_WORKERS = 2_000
SITES = 25
MONTH = (dt.date(2026, 9, 1), dt.date(2026, 9, 30))


def write_ats_csv(path: Path, sites: list[str]) -> None:
    rng = random.Random(1)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Candidate ID", "Forename", "Surname", "Email", "Mobile", "Job Title",
                         "Site", "Department", "Start Date", "Status"])
        for n in range(ATS_ROWS):
            writer.writerow([f"ATS-{n:05d}", rng.choice(["Ann", "Jan", "Ion", "Lukas"]),
                             f"Surname{n}", f"w{n}@example.com", "+44 7700 900000",
                             "Operative", rng.choice(sites),
                             rng.choice(["Warehouse", "Drivers", "Cleaning"]), "03/03/2026",
                             "Active"])


def ats_floor(path: Path, scratch: Path) -> float:
    """Parse the same CSV and insert its rows with raw sqlite3, in one transaction."""
    started = time.perf_counter()
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    conn = sqlite3.connect(scratch / "floor.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=full")
    conn.execute("CREATE TABLE w (ref TEXT UNIQUE, first TEXT, last TEXT, email TEXT, phone TEXT, "
                 "role TEXT, site TEXT, dept TEXT, start TEXT, status TEXT)")
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO w VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def bench_ats() -> float:
    scratch = scratch_dir("connectors-ats")
    open_store(load_config(scratch / "data"))
    account = accounts.create_account("Bench Agency")
    sites = []
    for n in range(7):
        sites.append(locations.create_location(account.id, locations.LocationCreate(
            name=f"Site {n}", timezone="Europe/London")).name)
    for name in ("Warehouse", "Drivers", "Cleaning"):
        departments.create_department(account.id, departments.DepartmentCreate(name=name))
    path = scratch / "ats.csv"
    write_ats_csv(path, sites)
    floor = ats_floor(path, scratch)
    started = time.perf_counter()
    run = connectors.run_connector(account.id, AtsCsvImport(), overrides={"file": str(path)})
    took = time.perf_counter() - started
    assert run.status == "succeeded" and run.counts.get("created") == ATS_ROWS, run
    started = time.perf_counter()
    again = connectors.run_connector(account.id, AtsCsvImport(), overrides={"file": str(path)})
    unchanged = time.perf_counter() - started
    assert again.counts.get("unchanged") == ATS_ROWS, again
    close_store()
    print(f"ATS import, {ATS_ROWS:,} new workers:      {took:6.2f} s   (target ≤ 3 s: "
          f"{'met' if took <= 3 else 'NOT met'})")
    print(f"ATS re-import, all unchanged:          {unchanged:6.2f} s")
    print(f"  floor (csv + raw sqlite3 insert):    {floor:6.2f} s   → connector / floor = "
          f"{took / floor:.1f}x")
    return took


def seed_month(account_id: int, site_ids: list[int]) -> int:
    """2,000 workers on a weekday pattern for the month, inserted in bulk."""
    rng = random.Random(2)
    now = utcnow()
    with database.atomic():
        Worker.insert_many([
            {"account": account_id, "first_name": "W", "last_name": f"{n:04d}",
             "employee_ref": f"P{n:04d}", "location": site_ids[n % SITES],
             "created_at": now, "updated_at": now}
            for n in range(PAYROLL_WORKERS)]).execute()
    worker_ids = [w.id for w in Worker.select(Worker.id).where(Worker.account == account_id)
                  .order_by(Worker.id)]
    rows = []
    day = MONTH[0]
    while day <= MONTH[1]:
        if day.weekday() < 5:
            for n, worker_id in enumerate(worker_ids):
                start = dt.datetime.combine(day, dt.time(6 + n % 3 * 7)) + dt.timedelta(
                    minutes=rng.randint(-10, 10))
                end = start + dt.timedelta(hours=8, minutes=rng.randint(-20, 30))
                worked = int((end - start).total_seconds()) - 1800
                rows.append({"account": account_id, "worker": worker_id,
                             "location": site_ids[n % SITES], "clock_in": start,
                             "clock_out": end, "work_date": day, "break_seconds": 1800,
                             "worked_seconds": worked, "status": "approved", "source": "kiosk",
                             "created_at": now, "updated_at": now})
        day += dt.timedelta(days=1)
    with database.atomic():
        for start in range(0, len(rows), 2000):
            TimeEntry.insert_many(rows[start:start + 2000]).execute()
    return len(rows)


def bench_payroll() -> float:
    scratch = scratch_dir("connectors-payroll")
    config = load_config(scratch / "data")
    open_store(config)
    account = accounts.create_account("Bench Agency")
    site_ids = [locations.create_location(account.id, locations.LocationCreate(
        name=f"Site {n}", timezone="UTC")).id for n in range(SITES)]
    entries = seed_month(account.id, site_ids)
    close_store()
    started = time.perf_counter()
    conn = sqlite3.connect(config.sqlite_path)
    floor_rows = conn.execute(
        "SELECT e.*, w.first_name, w.last_name, w.employee_ref, l.name FROM time_entry e "
        "JOIN worker w ON w.id = e.worker_id JOIN location l ON l.id = e.location_id "
        "WHERE e.account_id = ? AND e.work_date BETWEEN ? AND ? AND e.clock_out IS NOT NULL "
        "ORDER BY e.id", (account.id, *[d.isoformat() for d in MONTH])).fetchall()
    conn.close()
    floor = time.perf_counter() - started
    open_store(config)
    started = time.perf_counter()
    run = connectors.run_connector(account.id, PayrollCsvExport(), overrides={
        "period": "custom", "date_from": MONTH[0].isoformat(), "date_to": MONTH[1].isoformat(),
        "output_dir": str(scratch / "out")})
    took = time.perf_counter() - started
    close_store()
    assert run.status == "succeeded" and run.counts["entries"] == entries, run
    print(f"Payroll export, {PAYROLL_WORKERS:,} workers, {entries:,} entries: {took:6.2f} s   "
          f"(target ≤ 3 s: {'met' if took <= 3 else 'NOT met'})")
    print(f"  floor (raw sqlite3 read of {len(floor_rows):,} rows): {floor:6.2f} s   → "
          f"connector / floor = {took / floor:.1f}x")
    return took


if __name__ == "__main__":
    ats = bench_ats()
    payroll = bench_payroll()
    verdict(ats <= 3 and payroll <= 3,
            f"ATS import {ats:.2f} s and payroll export {payroll:.2f} s, each target <= 3 s")
