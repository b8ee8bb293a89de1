"""Every write appends an outbox event in its own transaction; a refused write appends none."""

from __future__ import annotations

import pytest

from tempclock.api.services import workers
from tempclock.api.services.errors import Conflict
from tempclock.api.store.models import Event


def _events(account_id):
    return [(e.type, e.data) for e in Event.select().where(Event.account == account_id)
            .order_by(Event.id)]


def test_creating_a_worker_records_worker_created_with_the_worker(account):
    before = len(_events(account.id))
    worker = workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", employee_ref="E-1"))
    events = _events(account.id)[before:]
    assert [t for t, _ in events] == ["worker_created"]
    assert f'"id":{worker.id}' in events[0][1]


def test_a_refused_write_leaves_no_event_behind(account):
    workers.create_worker(account.id, workers.WorkerCreate(
        first_name="Ann", last_name="Nowak", employee_ref="E-1"))
    before = _events(account.id)
    with pytest.raises(Conflict):
        workers.create_worker(account.id, workers.WorkerCreate(
            first_name="Bob", last_name="Smith", employee_ref="E-1"))
    assert _events(account.id) == before


def test_events_are_numbered_in_the_order_they_were_written(account):
    for n in range(5):
        workers.create_worker(account.id, workers.WorkerCreate(first_name=f"W{n}", last_name="X"))
    ids = [e.id for e in Event.select().order_by(Event.id)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
