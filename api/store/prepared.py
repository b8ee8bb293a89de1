"""Prepared queries: a peewee query turned into SQL once and run many times.

Building SQL is most of what a simple peewee query costs; the hot paths (key
checks, clocking, fetching one row) run the same few queries thousands of times
a second. `Prepared` builds the query with named slots in place of values,
keeps the SQL and runs it with new values, converting columns both ways exactly
as peewee's fields do.

    open_entry = Prepared(lambda p: TimeEntry.select(TimeEntry.id)
                          .where((TimeEntry.worker == p.worker_id) & TimeEntry.clock_out.is_null()))
    row = open_entry.one(worker_id=7)  # a named tuple, or None
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import namedtuple
from collections.abc import Callable
from typing import Any

import peewee
from peewee import (
    Alias,
    AutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Node,
    Query,
    TextField,
)

from tempclock.api.store.models import database

__all__ = ["Prepared", "Slot", "run_sql"]


class _Bind:
    __slots__ = ("convert", "direct", "name")

    def __init__(self, name: str, convert: Callable[[Any], Any] | None) -> None:
        self.name = name
        self.convert = convert
        self.direct: dict[type, Callable[[Any], Any] | None] = {}

    def value(self, params: dict[str, Any]) -> Any:
        value = params[self.name]
        kind = type(value)
        if kind in self.direct:  # already what the field stores: no call through peewee
            as_stored = self.direct[kind]
            return value if as_stored is None else as_stored(value)
        return value if self.convert is None or value is None else self.convert(value)

    def know_the_store(self, sqlite: bool) -> None:
        """Fill `direct`: the value types this bind passes on without its field's db_value."""
        field = getattr(self.convert, "__self__", None)
        if isinstance(field, ForeignKeyField):
            field = field.rel_field
        stored = _STORED_AS_IS.get(type(field))  # exactly these: a subclass may convert more
        if stored is not None:
            kind, on_sqlite = stored
            self.direct = {kind: on_sqlite if sqlite else None}


# Values a field's db_value gives back unchanged (tests/api/test_peewee_assumptions.py pins
# it), and what SQLite's driver would make of them, done in C rather than by its adapters
# (a Python call for a datetime, two failed attribute lookups for a bool). A kiosk punch
# binds ~30 values: this took its service part from 947k to 902k instructions (callgrind).
_STORED_AS_IS: dict[type[Field], tuple[type, Callable[[Any], Any] | None]] = {
    BooleanField: (bool, int),
    AutoField: (int, None),
    IntegerField: (int, None),
    BigIntegerField: (int, None),
    FloatField: (float, None),
    CharField: (str, None),
    TextField: (str, None),
    DateTimeField: (dt.datetime, str),  # sqlite3's adapter: isoformat(" "), which str() is
    DateField: (dt.date, str),  # sqlite3's adapter: isoformat(), which str() is
}


class Slot(Node):
    """A named placeholder; filled when the prepared query runs.

    Compared with a field (`Model.field == p.name`) it converts like that field;
    in an insert, pass the field explicitly: `Slot("name", Model.field)`.
    """

    def __init__(self, name: str, field: Field | None = None) -> None:
        self.name = name
        self.field = field

    def __sql__(self, ctx):
        convert = self.field.db_value if self.field is not None else ctx.state.converter
        ctx._values.append(_Bind(self.name, convert))
        return ctx.literal(ctx.state.param or "?")


class _Slots:
    def __getattr__(self, name: str) -> Slot:
        return Slot(name)


def _fast_datetime(field: Field) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return dt.datetime.fromisoformat(value)
            except ValueError:
                pass
        return field.python_value(value)

    return read


def _fast_date(field: Field) -> Callable[[Any], Any]:
    def read(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        return field.python_value(value)

    return read


def _reader(column: Any) -> Callable[[Any], Any] | None:
    if isinstance(column, Alias):
        column = column.node
    if isinstance(column, DateTimeField):
        return _fast_datetime(column)  # SQLite keeps ISO text; strptime is slow
    if isinstance(column, DateField):
        return _fast_date(column)
    if isinstance(column, ForeignKeyField):
        column = column.rel_field
    if isinstance(column, IntegerField | CharField | TextField | FloatField):
        return None  # the driver already returns int / str / float
    return column.python_value if isinstance(column, Field) else None


class _Compiled:
    def __init__(self, db: Any, query: Query) -> None:
        self.db = db
        self.sql, self.binds = query.sql()
        sqlite = isinstance(db, peewee.SqliteDatabase)
        for bind in self.binds:
            if isinstance(bind, _Bind):
                bind.know_the_store(sqlite)
        returning = getattr(query, "_returning", None) or ()
        self.readers = [_reader(column) for column in returning]
        self.convert: list[tuple[int, Callable[[Any], Any]]] = []
        self.row_type: type | None = None

    def args(self, params: dict[str, Any]) -> list[Any]:
        return [b.value(params) if isinstance(b, _Bind) else b for b in self.binds]

    def _learn_columns(self, description: Any) -> None:
        """The row type and the columns to convert, from the first run's columns (the same
        every run): found once, not on every run (~2k instructions a lookup)."""
        readers = self.readers if len(self.readers) == len(description) else []
        self.convert = [(i, r) for i, r in enumerate(readers) if r is not None]
        self.row_type = namedtuple("Row", [d[0] for d in description],  # noqa: PYI024
                                   rename=True)  # set last: its presence says both are known

    def make_rows(self, cursor: Any) -> list[Any]:
        raw = cursor.fetchall()
        if self.row_type is None:
            self._learn_columns(cursor.description)
        convert = self.convert
        make = self.row_type._make  # type: ignore[union-attr]
        if not convert:
            return [make(row) for row in raw]
        rows = []
        for row in raw:
            values = list(row)
            for i, read in convert:
                if values[i] is not None:
                    values[i] = read(values[i])
            rows.append(make(values))
        return rows


_wrap_errors = peewee.__exception_wrapper__  # peewee's errors for the driver's


def run_sql(db: Any, sql: str, args: list[Any] | tuple[()] = ()) -> Any:
    """`db.execute_sql`, straight on the connection of an open SQLite store.

    Peewee's path (connection checks, debug logging, a fresh cursor) costs as much
    as SQLite's own work for a primary-key lookup, and these run on every request.
    The driver's errors still become peewee's, and query hooks still see the query.
    """
    state = db._state
    if state.closed or db.query_hooks or not isinstance(db, peewee.SqliteDatabase):
        return db.execute_sql(sql, args)
    with _wrap_errors:
        return state.conn.execute(sql, args)


class Prepared:
    """A query compiled once per database and run with named values."""

    def __init__(self, build: Callable[[_Slots], Query]) -> None:
        self._build = build
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def _get(self) -> _Compiled:
        db = database.obj
        compiled = self._compiled
        if compiled is None or compiled.db is not db:
            with self._lock:
                compiled = _Compiled(db, self._build(_Slots()))
                self._compiled = compiled
        return compiled

    def execute(self, **params: Any) -> Any:
        """Run it; returns the DB-API cursor."""
        compiled = self._get()
        return run_sql(compiled.db, compiled.sql, compiled.args(params))

    def rows(self, **params: Any) -> list[Any]:
        """Every row, as named tuples with values converted by their fields."""
        compiled = self._get()
        return compiled.make_rows(run_sql(compiled.db, compiled.sql, compiled.args(params)))

    def one(self, **params: Any) -> Any | None:
        """The first row, or None."""
        rows = self.rows(**params)
        return rows[0] if rows else None

    def scalar(self, **params: Any) -> Any:
        """The first column of the first row, or None."""
        row = self.execute(**params).fetchone()
        return None if row is None else row[0]

    def insert(self, **params: Any) -> int:
        """Run a prepared insert; returns the new row's id."""
        compiled = self._get()
        cursor = run_sql(compiled.db, compiled.sql, compiled.args(params))
        if compiled.db.returning_clause:  # PostgreSQL: INSERT ... RETURNING id
            return cursor.fetchone()[0]
        return cursor.lastrowid

    def rowcount(self, **params: Any) -> int:
        """Run a prepared update or delete; returns how many rows it touched."""
        return self.execute(**params).rowcount


_saves: dict[tuple[Any, ...], Prepared] = {}
_PK = "pk__"


def _insert_of(model: type, names: tuple[str, ...]) -> Prepared:
    fields = model._meta.fields
    return Prepared(lambda p: model.insert({fields[n]: Slot(n, fields[n]) for n in names}))


def _update_of(model: type, names: tuple[str, ...]) -> Prepared:
    fields = model._meta.fields
    return Prepared(
        lambda p: model.update({fields[n]: Slot(n, fields[n]) for n in names})
        .where(model._meta.primary_key == Slot(_PK))
    )


def save(row: Any) -> None:
    """Insert a new model instance, or write the fields changed on a loaded one.

    The same as `row.save()`, with the SQL for each shape of write compiled once.
    """
    model = type(row)
    pk = row._pk
    if pk is None:
        data = {name: value for name, value in row.__data__.items() if name != "id"}
        names = tuple(data)
        key = ("insert", model, names)
        prepared = _saves.get(key) or _saves.setdefault(key, _insert_of(model, names))
        row._pk = prepared.insert(**data)
    else:
        names = tuple(sorted(field.name for field in row.dirty_fields))
        if not names:
            return
        key = ("update", model, names)
        prepared = _saves.get(key) or _saves.setdefault(key, _update_of(model, names))
        prepared.rowcount(**{name: row.__data__.get(name) for name in names}, **{_PK: pk})
    row._dirty.clear()


def fetch_rows(query: Query) -> list[Any]:
    """Run a query built on the fly; rows as named tuples, read like `Prepared.rows`.

    For queries that change with their filters (lists): the SQL is built each time,
    but the rows skip peewee's model objects and slow date parsing.
    """
    compiled = _Compiled(database.obj, query)
    cursor = compiled.db.execute_sql(compiled.sql, compiled.args({}))
    return compiled.make_rows(cursor)
