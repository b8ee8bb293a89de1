"""Accounts: the organisations whose data TempClock keeps apart. API access is off until enabled."""

from __future__ import annotations

import datetime as dt
import getpass

import msgspec
from peewee import IntegrityError

from tempclock.api.services.common import clean_text, emit, transaction, utc, utcnow
from tempclock.api.services.errors import Conflict, Invalid, NotFound
from tempclock.api.services.keys import changed_key_validity
from tempclock.api.store.models import Account as AccountRow


class Account(msgspec.Struct, kw_only=True):
    id: int
    name: str
    api_enabled: bool
    log_retention_days: int
    internal_targets_allowed: bool = False
    internal_targets_changed_at: dt.datetime | None = None
    internal_targets_changed_by: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: AccountRow) -> Account:
    return Account(
        id=row.id,
        name=row.name,
        api_enabled=row.api_enabled,
        log_retention_days=row.log_retention_days,
        internal_targets_allowed=row.internal_targets_allowed,
        internal_targets_changed_at=utc(row.internal_targets_changed_at),
        internal_targets_changed_by=row.internal_targets_changed_by,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def _clean_name(name: str) -> str:
    return clean_text(name, "name", max_length=200, required=True)


def create_account(name: str, *, api_enabled: bool = False) -> Account:
    """Create an account. Names are unique so the admin can tell accounts apart."""
    name = _clean_name(name)
    try:
        with transaction():
            row = AccountRow.create(name=name, api_enabled=api_enabled)
            record = _record(row)
            emit(row.id, "account_created", record)
    except IntegrityError:
        raise Conflict(f"An account named {name!r} already exists",
                       code="duplicate_account_name") from None
    return record


def list_accounts() -> list[Account]:
    """Every account, oldest first."""
    return [_record(row) for row in AccountRow.select().order_by(AccountRow.id)]


def get_account(account_id: int) -> Account:
    """One account, or NotFound."""
    return _record(_get(account_id))


def _get(account_id: int) -> AccountRow:
    row = AccountRow.get_or_none(AccountRow.id == account_id)
    if row is None:
        raise NotFound.of("Account", account_id)
    return row


def _update(account_id: int, **changes: object) -> Account:
    try:
        with transaction():
            row = _get(account_id)
            for field, value in changes.items():
                setattr(row, field, value)
            if "api_enabled" in changes:
                changed_key_validity()
            row.updated_at = utcnow()
            row.save()
            record = _record(row)
            emit(row.id, "account_updated", record)
    except IntegrityError:
        raise Conflict(f"An account named {changes.get('name')!r} already exists",
                       code="duplicate_account_name") from None
    return record


def rename_account(account_id: int, name: str) -> Account:
    """Give the account a new (unique) name."""
    return _update(account_id, name=_clean_name(name))


def set_api_enabled(account_id: int, enabled: bool) -> Account:
    """Turn the account's API access on or off; keys of a disabled account get 403."""
    return _update(account_id, api_enabled=bool(enabled))


def set_log_retention(account_id: int, days: int) -> Account:
    """How many days of API logs to keep (1 to 3650)."""
    if not isinstance(days, int) or not 1 <= days <= 3650:
        raise Invalid("log retention must be between 1 and 3650 days", field="log_retention_days")
    return _update(account_id, log_retention_days=days)


def local_admin(program: str) -> str:
    """Who makes an admin's change on this PC, for the record: the program and the OS user."""
    try:
        return f"{program}:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name in this environment
        return program


def allow_internal_targets(account_id: int, allowed: bool, *, by: str) -> Account:
    """Let the account's webhooks and connectors send to this PC and the office network (or stop).

    An admin's decision, kept with who made it and when (also as an event). Deliveries
    already queued are checked against the setting when they are sent.
    """
    by = clean_text(by, "by", max_length=200, required=True)
    now = utcnow()
    with transaction():
        row = _get(account_id)
        row.internal_targets_allowed = bool(allowed)
        row.internal_targets_changed_at = row.updated_at = now
        row.internal_targets_changed_by = by
        row.save()
        record = _record(row)
        emit(row.id, "internal_targets_changed",
             {"account_id": row.id, "allowed": bool(allowed), "by": by, "at": utc(now)})
    return record


__all__ = [
    "Account",
    "allow_internal_targets",
    "local_admin",
    "create_account",
    "get_account",
    "list_accounts",
    "rename_account",
    "set_api_enabled",
    "set_log_retention",
]
