"""The rules that must hold whatever the concurrency, held by the database on both backends.

Each thread below has a connection of its own (peewee keeps one per thread), so the
database sees simultaneous sessions exactly as it would from several server processes.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import store_backends
from peewee import IntegrityError

from tempclock.api.config import load_config
from tempclock.api.services import clocking, deliveries, shifts, workers
from tempclock.api.services.errors import Conflict
from tempclock.api.store import close_store, database, migrate, open_store
from tempclock.api.store.models import MODELS, Shift, TimeEntry, utcnow

THREADS = 8
T0 = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)


def simultaneously(action: Callable[[int], object], count: int = THREADS) -> list[object]:
    """Run `action(n)` on `count` threads released at the same moment; results or errors."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = action(n)
        except Exception as error:  # noqa: BLE001 - the outcome under test
            outcomes[n] = error
        finally:
            database.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_simultaneous_clock_ins_of_one_worker_open_exactly_one_entry(account, site, worker):
    outcomes = simultaneously(lambda n: clocking.clock_in(account.id, worker.id))
    opened = [o for o in outcomes if isinstance(o, clocking.TimeEntry)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(opened) == 1, outcomes
    assert len(refused) == THREADS - 1
    assert {o.code for o in refused} == {"already_clocked_in"}
    assert (TimeEntry.select().where(TimeEntry.worker == worker.id,
                                     TimeEntry.clock_out.is_null()).count()) == 1


def test_simultaneous_overlapping_shifts_of_one_worker_schedule_exactly_one(account, site, worker):
    def schedule(n: int):
        start = T0 + dt.timedelta(minutes=10 * n)  # every pair of these overlaps
        return shifts.create_shift(account.id, shifts.ShiftCreate(
            location_id=site.id, worker_id=worker.id, start=start,
            end=start + dt.timedelta(hours=8)))

    outcomes = simultaneously(schedule)
    scheduled = [o for o in outcomes if isinstance(o, shifts.Shift)]
    assert len(scheduled) == 1, outcomes
    assert {o.code for o in outcomes if isinstance(o, Conflict)} == {"shift_overlap"}
    assert Shift.select().where(Shift.worker == worker.id).count() == 1


def test_a_poller_reading_the_outbox_by_id_misses_no_event_of_concurrent_writers(account):
    """Outbox ids follow commit order, so `after_id` polling (dispatcher, /events) is exact."""
    done = threading.Event()
    seen: list[int] = []

    def poll() -> None:
        after = 0
        try:
            while True:
                finished = done.is_set()
                batch = deliveries.pending_events(after)
                seen.extend(event.id for event in batch)
                after = seen[-1] if seen else 0
                if finished and not batch:
                    return
        finally:
            database.close()

    poller = threading.Thread(target=poll)
    poller.start()
    simultaneously(lambda n: [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=f"W{n}", last_name=f"N{i}")) for i in range(15)])
    done.set()
    poller.join(60)
    written = [row.id for row in deliveries.pending_events(0, limit=10_000)]
    assert len(written) >= THREADS * 15
    assert seen == written


def test_the_database_refuses_a_second_open_entry_written_past_the_service(account, site,
                                                                         worker):
    clocking.clock_in(account.id, worker.id)
    now = utcnow()
    with pytest.raises(IntegrityError), database.atomic():
        TimeEntry.insert(account=account.id, worker=worker.id, location=site.id, clock_in=now,
                         work_date=now.date(), created_at=now, updated_at=now).execute()


@pytest.mark.postgres_only  # SQLite has no exclusion constraints; its writers are serialised
def test_postgres_refuses_an_overlapping_shift_written_past_the_service(account, site, worker):
    first = shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=T0, end=T0 + dt.timedelta(hours=8)))
    start = (T0 + dt.timedelta(hours=4)).replace(tzinfo=None)
    with pytest.raises(IntegrityError, match="shift_no_overlap_per_worker"), database.atomic():
        Shift.insert(account=account.id, worker=worker.id, location=site.id, start=start,
                     end=start + dt.timedelta(hours=8), work_date=start.date(),
                     status="scheduled", created_at=utcnow(), updated_at=utcnow()).execute()
    shifts.cancel_shift(account.id, first.id)  # a cancelled shift frees the time
    assert shifts.create_shift(account.id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=T0,
        end=T0 + dt.timedelta(hours=8))).status == "scheduled"


def test_an_empty_postgres_database_is_migrated_and_reopened_without_changes(tmp_path,
                                                                             monkeypatch):
    server = store_backends.postgres()
    url = server.create(migrated=False)
    monkeypatch.setenv("TEMPCLOCK_DATABASE_URL", url)
    config = load_config(tmp_path)
    try:
        open_store(config)
        tables = set(database.get_tables())
        applied = [row[0] for row in database.execute_sql(
            "SELECT name FROM schema_migration ORDER BY id").fetchall()]
        close_store()
        open_store(config)
        assert migrate() == []
    finally:
        close_store()
        server.drop(url)
    assert tables >= {model._meta.table_name for model in MODELS}
    migrations = Path(clocking.__file__).parent.parent / "store" / "migrations"
    assert applied == sorted(p.stem for p in migrations.glob("[0-9]*.py"))
