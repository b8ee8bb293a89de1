"""Retention: API logs, webhook delivery records and kiosk punch records older than their
account's setting go.

Each account keeps them for `log_retention_days` (default 90); logs of requests whose key
matched no account are kept 90 days. Pending deliveries are never pruned, however old:
an event is never lost to retention.

The dispatcher process runs `prune` (hourly): one place per host, off the API's
process, at low priority. Rows go in small batches, each in a short write transaction
of its own with a pause after it, so API writes, which need the same write lock, wait
at most one batch, never for the whole backlog (after the retention was shortened, say).
"""

from __future__ import annotations

import datetime as dt
import threading
import time

import msgspec
from peewee import Expression, Model

from tempclock.api.services.common import transaction, utcnow
from tempclock.api.store.models import Account as AccountRow
from tempclock.api.store.models import ApiLog as ApiLogRow
from tempclock.api.store.models import KioskPunch as KioskPunchRow
from tempclock.api.store.models import WebhookDelivery as DeliveryRow

BATCH = 500
PAUSE_S = 0.02  # between batches: writers waiting for the lock get it first
UNOWNED_LOG_DAYS = 90
FINISHED = ("delivered", "failed")


class Pruned(msgspec.Struct, kw_only=True):
    """How many rows one pruning pass deleted."""

    api_logs: int = 0
    deliveries: int = 0
    kiosk_punches: int = 0  # the kiosk's punches sent with a key (replays, refusals listed)


def _delete_in_batches(model: type[Model], condition: Expression, *, batch: int, pause: float,
                       stop: threading.Event | None) -> int:
    deleted = 0
    while stop is None or not stop.is_set():
        with transaction():
            some = model.select(model.id).where(condition).limit(batch)
            count = model.delete().where(model.id.in_(some)).execute()
        deleted += count
        if count < batch:
            break
        time.sleep(pause)
    return deleted


def prune(now: dt.datetime | None = None, *, batch: int = BATCH, pause: float = PAUSE_S,
          stop: threading.Event | None = None) -> Pruned:
    """Delete API logs, finished deliveries and kiosk punch records older than their
    account's retention.

    Works in transactions of at most `batch` rows; `stop` (when set) ends it early.
    """
    now = now or utcnow()
    pruned = Pruned()
    options = {"batch": batch, "pause": pause, "stop": stop}
    retention = list(AccountRow.select(AccountRow.id, AccountRow.log_retention_days).tuples())
    for account_id, days in retention:
        cutoff = now - dt.timedelta(days=days)
        pruned.api_logs += _delete_in_batches(
            ApiLogRow, (ApiLogRow.account == account_id) & (ApiLogRow.created_at < cutoff),
            **options)
        pruned.deliveries += _delete_in_batches(
            DeliveryRow, (DeliveryRow.account == account_id)
            & (DeliveryRow.created_at < cutoff) & DeliveryRow.state.in_(FINISHED),
            **options)
        pruned.kiosk_punches += _delete_in_batches(
            KioskPunchRow, (KioskPunchRow.account == account_id)
            & (KioskPunchRow.received_at < cutoff), **options)
    pruned.api_logs += _delete_in_batches(
        ApiLogRow, ApiLogRow.account.is_null()
        & (ApiLogRow.created_at < now - dt.timedelta(days=UNOWNED_LOG_DAYS)), **options)
    return pruned
