"""What `api/store/prepared.py` and the transaction helper (`tempclock.api.services.common.transaction`)
assume of peewee's internals, each pinned on a real store (SQLite, and PostgreSQL when given).

Both reach past peewee's public API for speed. When a peewee upgrade changes one of these,
the test of it fails saying which assumption broke and which module relies on it: fix that
module (or drop the shortcut) before upgrading.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import peewee
import pytest

from tempclock.api.services import common
from tempclock.api.services.common import transaction
from tempclock.api.store import prepared
from tempclock.api.store.models import Account, Worker, database
from tempclock.api.store.prepared import Prepared, Slot

PREPARED = "api/store/prepared.py"
ATOMIC = "api/services/common.py (_Atomic, transaction)"


def broken(module: str, assumption: str) -> str:
    return f"PEEWEE ASSUMPTION BROKEN ({module}, peewee {peewee.__version__}): {assumption}"


def test_a_node_is_compiled_through_its___sql___with_the_contexts_values_and_state(store):
    query = Worker.select(Worker.id).where(Worker.id == Slot("id"))
    sql, params = query.sql()
    binds = [p for p in params if isinstance(p, prepared._Bind)]
    assert len(binds) == 1, broken(
        PREPARED, "Node.__sql__(ctx) is called while compiling and what it appends to "
                  "ctx._values comes back, unconverted, as a parameter of query.sql()")
    assert binds[0].convert == Worker.id.db_value, broken(
        PREPARED, "ctx.state.converter is the db_value of the field a Node is compared with")
    placeholder = "%s" if isinstance(store, peewee.PostgresqlDatabase) else "?"
    assert placeholder in sql, broken(PREPARED, "ctx.state.param is the driver's placeholder")


def test_a_select_keeps_its_columns_in__returning(store):
    query = Worker.select(Worker.id, Worker.first_name.alias("name"), Worker.location)
    columns = getattr(query, "_returning", None)
    assert columns is not None and len(columns) == 3, broken(
        PREPARED, "a select keeps the columns it selects in `_returning`")
    assert isinstance(columns[1], peewee.Alias) and columns[1].node is Worker.first_name, broken(
        PREPARED, "an Alias keeps the aliased column in `.node`")
    assert Worker.location.rel_field is Worker.location.rel_model.id, broken(
        PREPARED, "a ForeignKeyField names the column it refers to in `.rel_field`")


def test_the_exception_wrapper_turns_driver_errors_into_peeweees():
    wrapper = getattr(peewee, "__exception_wrapper__", None)
    assert wrapper is not None, broken(PREPARED, "peewee.__exception_wrapper__ exists")
    with pytest.raises(peewee.IntegrityError), wrapper:
        raise sqlite3.IntegrityError("UNIQUE constraint failed")


def test_the_connection_state_holds_the_drivers_open_connection(store):
    state = getattr(store, "_state", None)
    assert state is not None and hasattr(state, "closed") and hasattr(state, "conn"), broken(
        PREPARED, "a database keeps `_state.closed` and `_state.conn`")
    assert state.closed is False, broken(PREPARED, "`_state.closed` is False while connected")
    if isinstance(store, peewee.SqliteDatabase):
        assert isinstance(state.conn, sqlite3.Connection), broken(
            PREPARED, "an SqliteDatabase's `_state.conn` is the sqlite3 connection itself")
        assert state.conn.execute("SELECT 1").fetchone() == (1,)
    assert store.query_hooks == [], broken(
        PREPARED, "`query_hooks` is the (empty) list of hooks every query must pass")
    assert isinstance(store.returning_clause, bool), broken(
        PREPARED, "`returning_clause` says whether inserts answer with RETURNING")
    assert database.obj is store, broken(PREPARED, "DatabaseProxy.obj is the bound database")


def test_a_prepared_insert_answers_the_new_id_both_ways(store):
    account = Account.create(name="Acme", api_enabled=True)
    insert = Prepared(lambda p: Worker.insert({
        Worker.account: Slot("account", Worker.account),
        Worker.first_name: Slot("first_name", Worker.first_name),
        Worker.last_name: Slot("last_name", Worker.last_name)}))
    new_id = insert.insert(account=account.id, first_name="Ann", last_name="Nowak")
    assert Worker.get_by_id(new_id).first_name == "Ann", broken(
        PREPARED, "with `returning_clause` an insert's SQL ends in RETURNING the id; without, "
                  "the cursor's lastrowid is the id")


def test_a_model_instance_keeps_its_values_pk_and_changed_fields(store):
    assert Worker._meta.fields["first_name"] is Worker.first_name, broken(
        PREPARED, "Model._meta.fields maps names to fields")
    assert Worker._meta.primary_key is Worker.id, broken(
        PREPARED, "Model._meta.primary_key is the id field")
    account = Account.create(name="Acme", api_enabled=True)
    loaded = Worker(__no_default__=1, id=5, account=account.id, first_name="Ann",
                    last_name="Nowak")
    assert "active" not in loaded.__data__, broken(
        "api/services/common.py (fetch)", "Model(__no_default__=1, ...) sets no defaults")
    assert loaded._pk == 5, broken(PREPARED, "`_pk` is the primary key's value")
    loaded._dirty.clear()
    loaded.first_name = "Anna"
    assert loaded.__data__["first_name"] == "Anna", broken(
        PREPARED, "`__data__` holds the values by field name")
    assert [f.name for f in loaded.dirty_fields] == ["first_name"], broken(
        PREPARED, "`dirty_fields` are those set since `_dirty` (a set) was cleared")


def test_transactions_and_savepoints_are_the_classes_the_helper_subclasses(store):
    for name in ("_atomic", "_transaction", "_savepoint", "_manual"):
        assert isinstance(getattr(peewee, name, None), type), broken(
            ATOMIC, f"peewee.{name} is the class of that kind of transaction block")
    assert store.transaction_depth() == 0
    with transaction() as outer:
        assert isinstance(outer, peewee._transaction), broken(
            ATOMIC, "_atomic.__enter__ at depth 0 enters db.transaction() kept in `_helper`")
        assert store.transaction_depth() == 1 and store.top_transaction() is outer, broken(
            ATOMIC, "transaction_depth() and top_transaction() follow open transactions")
        with transaction() as inner:
            assert isinstance(inner, peewee._savepoint), broken(
                ATOMIC, "peewee._savepoint(db, sid) opens a savepoint named sid")
            assert inner.sid == "tempclock_savepoint"
    with store.manual_commit():
        assert isinstance(store.top_transaction(), peewee._manual), broken(
            ATOMIC, "in manual commit mode top_transaction() is a peewee._manual")


def test_a_failed_savepoint_undoes_only_itself_and_the_commit_runs_after_commit_hooks(store):
    account = Account.create(name="Acme", api_enabled=True)
    statements: list[str] = []
    ran: list[str] = []
    store.query_hooks.append(lambda event: statements.append(event.sql))
    try:
        with transaction():
            Worker.create(account=account, first_name="Kept", last_name="A")
            with pytest.raises(RuntimeError), transaction():
                Worker.create(account=account, first_name="Undone", last_name="B")
                raise RuntimeError("refused")
            common.after_commit(lambda: ran.append("committed"))
    finally:
        store.query_hooks.clear()
    names = {w.first_name for w in Worker.select()}
    assert names == {"Kept"}, broken(
        ATOMIC, "_savepoint.__exit__ with an exception rolls back to its savepoint only")
    quoted = "tempclock_savepoint".join(store.quote)
    assert f"SAVEPOINT {quoted};" in statements and \
        f"ROLLBACK TO SAVEPOINT {quoted};" in statements, broken(
            ATOMIC, "a savepoint is SAVEPOINT / ROLLBACK TO / RELEASE of its one quoted name "
                    "(peewee._savepoint's _begin / rollback / commit, which ours replace), "
                    "run through prepared.run_sql: execute_sql while query hooks listen")
    assert ran == ["committed"], broken(
        ATOMIC, "_atomic.__exit__ commits through `_helper`, then after-commit callbacks run")


def test_the_values_a_prepared_bind_passes_on_are_what_their_fields_db_value_gives(store):
    """`_Bind` skips a field's db_value for values of the field's own type (and on SQLite
    converts them itself, in C): only right while db_value gives them back unchanged."""
    samples = {bool: True, int: 7, float: 2.5, str: "Ann", dt.datetime: dt.datetime(
        2026, 3, 29, 1, 30, 0, 250), dt.date: dt.date(2026, 3, 29)}
    for field_type, (kind, _on_sqlite) in prepared._STORED_AS_IS.items():
        value = samples[kind]
        given = field_type().db_value(value)
        assert type(given) is kind and given == value, broken(
            PREPARED, f"{field_type.__name__}.db_value gives a {kind.__name__} back unchanged")


def test_sqlite_stores_what_a_prepared_bind_hands_it_as_its_driver_would(store):
    if not isinstance(store, peewee.SqliteDatabase):
        pytest.skip("the SQLite driver's adapters")
    connection = store.connection()
    samples = {bool: False, dt.datetime: dt.datetime(2026, 3, 29, 1, 30, 0, 250),
               dt.date: dt.date(2026, 3, 29)}
    for kind, on_sqlite in {k: c for k, c in prepared._STORED_AS_IS.values() if c}.items():
        value = samples[kind]
        by_driver = connection.execute("SELECT ?", (value,)).fetchone()[0]
        ours = connection.execute("SELECT ?", (on_sqlite(value),)).fetchone()[0]
        assert ours == by_driver and type(ours) is type(by_driver), broken(
            PREPARED, f"sqlite3 stores a {kind.__name__} as {on_sqlite.__name__}() of it")
    whole = dt.datetime(2026, 3, 29, 1, 30)
    assert connection.execute("SELECT ?", (str(whole),)).fetchone()[0] == \
        connection.execute("SELECT ?", (whole,)).fetchone()[0]
