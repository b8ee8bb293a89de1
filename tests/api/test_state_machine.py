"""Stateful fuzzing of the services: two agencies clock workers in and out, take breaks, schedule
shifts, issue and revoke keys, and peek at each other's ids, in random order, while a model
predicts every answer. After every step:

- no worker has two open entries, and every entry is the model's and the agency's own;
- timesheet totals equal the sum of the entries (per worker and in all, to the minute);
- a revoked key never verifies, neither checked in full nor through the API gate's memory
  of verified keys (read on a thread of its own, as the gate does).

Rules check the rest as they go: every list of an agency holds exactly its own ids, and
the other agency's ids are NotFound, whatever the call.

Clock times come from a model clock that starts 11 hours ago and moves in whole 3-minute
steps (stopping an hour short of now), so every total is exact in hours with two decimals
and in minutes.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import itertools
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tempclock.api.services import accounts, clocking, keys, locations, shifts, timesheets, workers
from tempclock.api.services.errors import DomainError, Unauthenticated
from tempclock.api.services.verified_keys import VerifiedKeys
from tempclock.api.store import database

WORKERS = 2
_names = itertools.count(1)
STEP = dt.timedelta(minutes=3)
ACTIONS = {"in": "_clock_in", "out": "_clock_out", "break_start": "_start_break",
           "break_end": "_end_break"}
TENANT = st.integers(0, 1)
WORKER = st.integers(0, WORKERS - 1)


@dataclass
class Entry:
    worker: int
    clock_in: dt.datetime
    clock_out: dt.datetime | None = None
    breaks: list[list[dt.datetime | None]] = field(default_factory=list)

    def break_seconds(self) -> int:
        return sum(int((end - start).total_seconds()) for start, end in self.breaks)

    def worked_seconds(self) -> int:
        return int((self.clock_out - self.clock_in).total_seconds()) - self.break_seconds()


@dataclass
class Agency:
    """One account as the model sees it."""

    account_id: int
    location_id: int
    workers: list[int]
    entries: dict[int, Entry] = field(default_factory=dict)
    shifts: dict[int, tuple[int | None, dt.datetime, dt.datetime]] = field(default_factory=dict)
    keys: dict[int, tuple[str, bool]] = field(default_factory=dict)  # id: (plaintext, revoked)

    def open_entry(self, worker_id: int) -> tuple[int, Entry] | None:
        return next(((i, e) for i, e in self.entries.items()
                     if e.worker == worker_id and e.clock_out is None), None)

    def latest_entry(self, worker_id: int) -> Entry | None:
        mine = [e for e in self.entries.values() if e.worker == worker_id]
        return max(mine, key=lambda e: e.clock_in) if mine else None


def expect(code: str, action) -> None:
    """`action` must be refused with `code`."""
    with pytest.raises(DomainError) as refusal:
        action()
    assert refusal.value.code == code, refusal.value


class Agencies(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(
            hours=11)
        self.latest = self.now + dt.timedelta(hours=10)  # backdated, never in the future
        self.agencies = [self._agency(n) for n in range(2)]
        self.gate = VerifiedKeys()

    def _agency(self, n: int) -> Agency:
        account = accounts.create_account(f"Agency {next(_names)}", api_enabled=True)
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds DC", timezone="Europe/London"))
        staff = [workers.create_worker(account.id, workers.WorkerCreate(
            first_name=f"W{i}", last_name="Temp", location_id=site.id)).id
            for i in range(WORKERS)]
        return Agency(account.id, site.id, staff)

    # --- time ------------------------------------------------------------------------

    @rule(steps=st.integers(1, 5))
    def time_passes(self, steps: int) -> None:
        self.now = min(self.now + STEP * steps, self.latest)

    # --- clocking --------------------------------------------------------------------

    @rule(t=TENANT, w=WORKER, action=st.sampled_from(sorted(ACTIONS)))
    def clock_anything(self, t: int, w: int, action: str) -> None:
        """Any action, sensible or not: the model predicts each refusal."""
        getattr(self, ACTIONS[action])(t, w)

    @rule(t=TENANT, w=WORKER, out=st.booleans(), steps=st.integers(1, 20))
    def work_a_while(self, t: int, w: int, out: bool, steps: int) -> None:
        """Time passes, then the worker's next sensible action: in; a break or out; back or out."""
        self.time_passes(steps)
        found = self.agencies[t].open_entry(self.agencies[t].workers[w])
        if found is None:
            self._clock_in(t, w)
        elif out:
            self._clock_out(t, w)
        elif found[1].breaks and found[1].breaks[-1][1] is None:
            self._end_break(t, w)
        else:
            self._start_break(t, w)

    def _clock_in(self, t: int, w: int) -> None:
        agency = self.agencies[t]
        worker_id = agency.workers[w]
        latest = agency.latest_entry(worker_id)
        act = lambda: clocking.clock_in(agency.account_id, worker_id,  # noqa: E731
                                        timestamp=self.now)
        if agency.open_entry(worker_id):
            expect("already_clocked_in", act)
        elif latest is not None and latest.clock_in >= self.now:
            expect("entry_overlap", act)
        else:
            entry = act()
            assert entry.worker_id == worker_id and entry.clock_out is None
            agency.entries[entry.id] = Entry(worker_id, self.now)

    def _clock_out(self, t: int, w: int) -> None:
        agency = self.agencies[t]
        worker_id = agency.workers[w]
        act = lambda: clocking.clock_out(agency.account_id, worker_id,  # noqa: E731
                                         timestamp=self.now)
        found = agency.open_entry(worker_id)
        if found is None:
            expect("not_clocked_in", act)
            return
        entry_id, entry = found
        record = act()
        assert record.id == entry_id
        entry.clock_out = self.now
        if entry.breaks and entry.breaks[-1][1] is None:
            entry.breaks[-1][1] = self.now
        assert record.total_hours == round(entry.worked_seconds() / 3600, 2)

    def _start_break(self, t: int, w: int) -> None:
        agency = self.agencies[t]
        worker_id = agency.workers[w]
        act = lambda: clocking.start_break(agency.account_id, worker_id,  # noqa: E731
                                           timestamp=self.now)
        found = agency.open_entry(worker_id)
        if found is None:
            expect("not_clocked_in", act)
        elif found[1].breaks and found[1].breaks[-1][1] is None:
            expect("already_on_break", act)
        else:
            act()
            found[1].breaks.append([self.now, None])

    def _end_break(self, t: int, w: int) -> None:
        agency = self.agencies[t]
        worker_id = agency.workers[w]
        act = lambda: clocking.end_break(agency.account_id, worker_id,  # noqa: E731
                                         timestamp=self.now)
        found = agency.open_entry(worker_id)
        if found is None:
            expect("not_clocked_in", act)
        elif not found[1].breaks or found[1].breaks[-1][1] is not None:
            expect("not_on_break", act)
        else:
            act()
            found[1].breaks[-1][1] = self.now

    # --- shifts ----------------------------------------------------------------------

    @rule(t=TENANT, w=st.one_of(st.none(), WORKER), starts_in=st.integers(0, 48),
          hours=st.integers(1, 12))
    def schedule_shift(self, t: int, w: int | None, starts_in: int, hours: int) -> None:
        agency = self.agencies[t]
        worker_id = None if w is None else agency.workers[w]
        start = self.now + dt.timedelta(hours=starts_in)
        end = start + dt.timedelta(hours=hours)
        act = lambda: shifts.create_shift(agency.account_id, shifts.ShiftCreate(  # noqa: E731
            location_id=agency.location_id, worker_id=worker_id, start=start, end=end))
        clash = worker_id is not None and any(
            holder == worker_id and s < end and e > start
            for holder, s, e in agency.shifts.values())
        if clash:
            expect("shift_overlap", act)
        else:
            shift = act()
            assert shift.status == ("open" if worker_id is None else "scheduled")
            agency.shifts[shift.id] = (worker_id, start, end)

    # --- keys ------------------------------------------------------------------------

    @rule(t=TENANT)
    def issue_key(self, t: int) -> None:
        agency = self.agencies[t]
        issued = keys.issue_key(agency.account_id, "Integration")
        agency.keys[issued.key.id] = (issued.plaintext, False)
        self._gate_verifies(issued.plaintext)  # remembered by the gate from now on

    @rule(t=TENANT, pick=st.integers(0, 50))
    def revoke_key(self, t: int, pick: int) -> None:
        agency, other = self.agencies[t], self.agencies[1 - t]
        if not agency.keys:
            return
        key_id = sorted(agency.keys)[pick % len(agency.keys)]
        expect("not_found", lambda: keys.revoke_key(key_id, other.account_id))
        # The gate has just verified an active key: the case where it could remember too long.
        assert agency.keys[key_id][1] or self._gate_verifies(agency.keys[key_id][0])
        revoked = keys.revoke_key(key_id, agency.account_id)
        assert revoked.status == "Revoked"
        agency.keys[key_id] = (agency.keys[key_id][0], True)

    # --- isolation ------------------------------------------------------------------

    @rule(t=TENANT, pick=st.integers(0, 50))
    def peek_at_the_other_agency(self, t: int, pick: int) -> None:
        mine, theirs = self.agencies[t], self.agencies[1 - t]
        account_id = mine.account_id
        worker_id = theirs.workers[pick % WORKERS]
        expect("not_found", lambda: workers.get_worker(account_id, worker_id))
        expect("not_found", lambda: clocking.clock_in(account_id, worker_id))
        expect("not_found", lambda: locations.get_location(account_id, theirs.location_id))
        if theirs.entries:
            entry_id = sorted(theirs.entries)[pick % len(theirs.entries)]
            expect("not_found", lambda: timesheets.get_entry(account_id, entry_id))
        if theirs.shifts:
            shift_id = sorted(theirs.shifts)[pick % len(theirs.shifts)]
            expect("not_found", lambda: shifts.get_shift(account_id, shift_id))
        if theirs.keys:
            key_id = sorted(theirs.keys)[pick % len(theirs.keys)]
            expect("not_found", lambda: keys.get_key(key_id, account_id))

    @rule(t=TENANT)
    def list_everything(self, t: int) -> None:
        agency = self.agencies[t]
        account_id = agency.account_id
        assert [w.id for w in workers.list_workers(account_id).data] == agency.workers
        assert [loc.id for loc in locations.list_locations(account_id).data] == [
            agency.location_id]
        assert {s.id for s in shifts.list_shifts(account_id, shifts.ShiftFilter(
            limit=100)).data} == set(agency.shifts)
        assert {k.id for k in keys.list_keys(account_id)} == set(agency.keys)
        active = timesheets.list_entries(account_id, timesheets.TimeEntryFilter(
            entry_filter="active", limit=100)).data
        assert {e.id for e in active} == {
            i for i, e in agency.entries.items() if e.clock_out is None}

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def entries_are_whole_and_each_agencys_own(self) -> None:
        for agency in self.agencies:
            listed = timesheets.list_entries(agency.account_id, timesheets.TimeEntryFilter(
                entry_filter="all", limit=100))
            assert {e.id for e in listed.data} == set(agency.entries)
            assert listed.pagination.total == len(agency.entries)
            open_workers = [e.worker_id for e in listed.data if e.clock_out is None]
            assert len(open_workers) == len(set(open_workers)), open_workers
            self._totals_add_up(agency, [e for e in listed.data if e.clock_out is not None])

    def _totals_add_up(self, agency: Agency, listed: list[timesheets.TimeEntry]) -> None:
        """Timesheet totals equal the sum of the closed entries, and the model's sums."""
        closed = [e for e in agency.entries.values() if e.clock_out is not None]
        totals = timesheets.timesheet_totals(agency.account_id)
        assert totals.entries == len(closed) == len(listed)
        assert totals.total_hours == pytest.approx(sum(e.total_hours for e in listed))
        assert totals.break_minutes == sum(e.break_minutes for e in listed)
        by_worker = {w.worker_id: w for w in totals.workers}
        for worker_id in agency.workers:
            mine = [e for e in closed if e.worker == worker_id]
            if not mine:
                assert worker_id not in by_worker
                continue
            line = by_worker[worker_id]
            assert line.entries == len(mine)
            assert line.total_hours == round(sum(e.worked_seconds() for e in mine) / 3600, 2)
            assert line.break_minutes == sum(e.break_seconds() for e in mine) // 60

    @invariant()
    def a_revoked_key_never_verifies(self) -> None:
        for agency in self.agencies:
            for plaintext, revoked in agency.keys.values():
                if revoked:
                    expect("key_revoked", lambda p=plaintext: keys.verify_key(p))
                    with pytest.raises(Unauthenticated):
                        self._gate_verifies(plaintext)
                else:
                    assert keys.verify_key(plaintext).account_id == agency.account_id

    def _gate_verifies(self, plaintext: str) -> bool:
        """Verify as the API gate does: remembered verifications, read on the gate's thread."""
        identity = _gate_thread.submit(self.gate.verify, plaintext).result()
        return identity is not None


_gate_thread: concurrent.futures.ThreadPoolExecutor


@pytest.fixture
def gate_thread(store):
    """The one thread the gate reads keys on (its own connection, as the event loop has)."""
    global _gate_thread
    _gate_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="gate")
    yield
    _gate_thread.submit(database.close).result()
    _gate_thread.shutdown()


def test_agencies_keep_their_invariants_whatever_they_do(gate_thread):
    run_state_machine_as_test(Agencies, settings=settings(
        max_examples=25, stateful_step_count=30, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))

