"""Every stored row, to say "nothing changed" of a whole store or of one account's records."""

from __future__ import annotations

from tempclock.api.store.models import MODELS, Account


def _rows(model, query) -> list[str]:
    return sorted(repr(row) for row in query.tuples())


def account_rows(account_id: int) -> dict[str, list[str]]:
    """Each table's rows belonging to the account (and the account's own row)."""
    found = {"account": _rows(Account, Account.select().where(Account.id == account_id))}
    for model in MODELS:
        if "account" in model._meta.fields and model is not Account:
            found[model._meta.table_name] = _rows(
                model, model.select().where(model._meta.fields["account"] == account_id))
    return found


def all_rows() -> dict[str, list[str]]:
    """Every row of every table."""
    return {model._meta.table_name: _rows(model, model.select()) for model in MODELS}
