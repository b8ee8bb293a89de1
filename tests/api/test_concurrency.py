"""The rules that must hold whatever the concurrency, held by the database on both backends.

Each thread below has a connection of its own (peewee keeps one per thread), so the
database sees simultaneous sessions exactly as it would from several server processes.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import store_backends
from peewee import IntegrityError

from tempclock.api import store as store_module
from tempclock.api.config import load_config
from tempclock.api.services import accounts, clocking, deliveries, shifts, workers
from tempclock.api.services.common import transaction
from tempclock.api.services.errors import Conflict
from tempclock.api.store import close_store, database, migrate, open_store
from tempclock.api.store.models import MODELS, Shift, TimeEntry, utcnow

THREADS = 8
T0 = dt.datetime(2026, 3, 10, 6, 0, tzinfo=dt.UTC)
DEADLINE_S = 120  # a loaded 2-core CI box under coverage finishes these in a few seconds
POLL_INTERVAL_S = 0.02  # the poller below waits between empty reads, as the dispatcher does


def simultaneously(action: Callable[[int], object], count: int = THREADS) -> list[object]:
    """Run `action(n)` on `count` threads released at the same moment; results or errors.

    Every thread must finish within `DEADLINE_S`: a writer stuck behind a lock fails the test.
    """
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

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + DEADLINE_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"writers still running: {outcomes}"
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
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(scheduled) == 1, outcomes
    assert len(refused) == THREADS - 1, outcomes  # no writer failed any other way
    assert {o.code for o in refused} == {"shift_overlap"}
    assert Shift.select().where(Shift.worker == worker.id).count() == 1


def test_a_poller_reading_the_outbox_by_id_misses_no_event_of_concurrent_writers(account):
    """Outbox ids follow commit order, so `after_id` polling (dispatcher, /events) is exact.

    Every writer must succeed (writers wait their turn; none fails on a busy database),
    and the poller, which waits between empty reads as the dispatcher does, sees each
    event exactly once, in order.
    """
    per_writer = 15
    done = threading.Event()
    seen: list[int] = []
    poll_errors: list[BaseException] = []
    before = max((row.id for row in deliveries.pending_events(0, limit=10_000)), default=0)

    def poll() -> None:
        after = before
        try:
            while True:
                finished = done.is_set()
                batch = deliveries.pending_events(after)
                seen.extend(event.id for event in batch)
                after = seen[-1] if seen else before
                if finished and not batch:
                    return
                if not batch:
                    done.wait(POLL_INTERVAL_S)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            poll_errors.append(error)
        finally:
            database.close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    outcomes = simultaneously(lambda n: [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=f"W{n}", last_name=f"N{i}")) for i in range(per_writer)])
    done.set()
    poller.join(DEADLINE_S)
    assert not poller.is_alive(), "the poller never caught up"
    assert poll_errors == []
    failed = [o for o in outcomes if not isinstance(o, list)]
    assert failed == [], failed
    assert all(len(made) == per_writer and all(isinstance(w, workers.Worker) for w in made)
               for made in outcomes)
    written = [row.id for row in deliveries.pending_events(before, limit=10_000)]
    assert len(written) == THREADS * per_writer
    assert seen == written


@pytest.mark.sqlite_only  # PostgreSQL queues writers on its lock manager, in order
def test_writers_behind_a_long_queue_wait_their_turn_instead_of_failing_as_busy(
        config, monkeypatch):
    """A writer waits as long as the writers ahead of it need, never "database is locked".

    The busy timeout is cut to 1 s here, and each write holds the lock for 50 ms (a slow
    disk): eight writers of ten writes each take four seconds, and each waits behind at
    most seven others (~0.35 s). Left to SQLite's polling busy handler, a writer that
    committed took the lock straight back while the others slept, until one gave up.
    """
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 1.0)
    monkeypatch.setitem(store_module.SQLITE_PRAGMAS, "busy_timeout", 1000)
    open_store(config)
    try:
        account = accounts.create_account("Acme Staffing", api_enabled=True)

        def write_slowly(n: int) -> int:
            for i in range(10):
                with transaction():
                    workers.create_worker(account.id, workers.WorkerCreate(
                        first_name=f"W{n}", last_name=f"N{i}"))
                    time.sleep(0.05)
            return n

        outcomes = simultaneously(write_slowly)
        assert outcomes == list(range(THREADS))
        assert workers.list_workers(account.id).pagination.total == THREADS * 10
    finally:
        close_store()


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
