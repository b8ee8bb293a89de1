"""A store that fails for a while, as the dispatcher, the gate and the kiosk meet it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tempclock.api.store import database


@contextlib.contextmanager
def table_away(table: str) -> Iterator[None]:
    """`table` is gone for a while (every read and write of it fails), then back as it was."""
    database.execute_sql(f"ALTER TABLE {table} RENAME TO {table}_away")
    try:
        yield
    finally:
        database.execute_sql(f"ALTER TABLE {table}_away RENAME TO {table}")
