"""The store: created by migrations, reopened intact, configured for durability."""

from __future__ import annotations

import sqlite3

import pytest

from tempclock.api.config import load_config
from tempclock.api.services import accounts, workers
from tempclock.api.store import close_store, migrate, open_store
from tempclock.api.store.migrations import __file__ as migrations_init
from tempclock.api.store.models import MODELS

EXPECTED_TABLES = {model._meta.table_name for model in MODELS}


def _tables(path):
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_an_empty_data_directory_is_created_and_migrated(tmp_path):
    config = load_config(tmp_path / "new" / "nested")
    open_store(config)
    close_store()
    assert config.sqlite_path.exists()
    assert _tables(config.sqlite_path) >= EXPECTED_TABLES


def test_every_migration_is_recorded_once(tmp_path):
    from pathlib import Path

    config = load_config(tmp_path)
    open_store(config)
    close_store()
    files = sorted(p.stem for p in Path(migrations_init).parent.glob("[0-9]*.py"))
    with sqlite3.connect(config.sqlite_path) as conn:
        applied = [row[0] for row in conn.execute("SELECT name FROM schema_migration ORDER BY id")]
    assert applied == files


def test_reopening_an_existing_directory_keeps_its_data_and_applies_nothing(tmp_path):
    config = load_config(tmp_path)
    open_store(config)
    account = accounts.create_account("Acme")
    workers.create_worker(account.id, workers.WorkerCreate(first_name="Ann", last_name="Nowak"))
    close_store()

    open_store(config)
    try:
        assert migrate() == []
        assert [a.name for a in accounts.list_accounts()] == ["Acme"]
        assert workers.list_workers(account.id).pagination.total == 1
    finally:
        close_store()


def test_a_store_made_by_an_older_version_is_upgraded_in_place(tmp_path):
    from playhouse.migrations import Runner

    from tempclock.api.store import MIGRATIONS_DIR, _connect
    from tempclock.api.store.models import database

    config = load_config(tmp_path)
    db = _connect(config)
    database.initialize(db)
    Runner(db, str(MIGRATIONS_DIR)).up(target="0001_initial")  # what version 0.1 shipped
    db.execute_sql("INSERT INTO account (name, api_enabled, log_retention_days, created_at, "
                   "updated_at) VALUES ('Old Agency', 1, 90, '2026-01-01', '2026-01-01')")
    close_store()
    assert "entry_edit" not in _tables(config.sqlite_path)

    open_store(config)
    try:
        assert "entry_edit" in _tables(config.sqlite_path)
        assert [a.name for a in accounts.list_accounts()] == ["Old Agency"]
    finally:
        close_store()


def test_an_upgrade_forgets_receivers_answers_and_replayable_secrets(tmp_path):
    from playhouse.migrations import Runner

    from tempclock.api.store import MIGRATIONS_DIR, _connect
    from tempclock.api.store.models import IdempotencyRecord, WebhookDelivery, database

    config = load_config(tmp_path)
    db = _connect(config)
    database.initialize(db)
    Runner(db, str(MIGRATIONS_DIR)).up(target="0008_auth_generation")  # before 0011
    secret = "whsec_" + "A" * 43 + "="
    for sql in (
        "INSERT INTO account (name, api_enabled, log_retention_days, created_at, updated_at) "
        "VALUES ('Old Agency', 1, 90, '2026-01-01', '2026-01-01')",
        "INSERT INTO webhook_delivery (account_id, event_type, attempt, state, status_code, "
        "error, created_at) VALUES (1, 'clock_in', 1, 'failed', 500, "
        "'HTTP 500: root:x:0:0 internal page', '2026-01-01')",
        "INSERT INTO idempotency_record (account_id, key, method, path, request_hash, "
        "status_code, response_body, created_at) VALUES (1, 'k1', 'POST', '/api/v1/webhooks', "
        f"'h', 201, '{{\"data\":{{\"id\":1,\"secret\":\"{secret}\"}},\"message\":\"m\"}}',"
        " '2026-01-01')",
    ):
        db.execute_sql(sql)
    close_store()

    open_store(config)
    try:
        assert WebhookDelivery.get().error == "HTTP 500"
        kept = IdempotencyRecord.get().response_body
        assert secret not in kept and '"secret":null' in kept
        assert accounts.get_account(1).internal_targets_allowed is False
    finally:
        close_store()


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync(store):
    pragma = lambda name: store.execute_sql(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("synchronous") == 2  # FULL
    assert pragma("busy_timeout") >= 5000
    assert pragma("temp_store") == 2  # MEMORY: savepoint journals never spill to a file


@pytest.mark.sqlite_only
def test_write_transactions_begin_immediate(store):
    statements = []
    store._state.conn.set_trace_callback(statements.append)
    try:
        accounts.create_account("Traced")
    finally:
        store._state.conn.set_trace_callback(None)
    assert "BEGIN IMMEDIATE" in statements


def test_a_refused_inner_write_undoes_only_itself_at_any_depth(store):
    from tempclock.api.services.common import transaction

    with transaction():
        kept = accounts.create_account("Kept")
        with transaction():
            accounts.create_account("Kept too")
            with pytest.raises(RuntimeError), transaction():
                accounts.create_account("Undone")
                with transaction():
                    accounts.create_account("Undone with it")
                raise RuntimeError("refused")
            accounts.create_account("Kept after")
    names = {a.name for a in accounts.list_accounts()}
    assert {"Kept", "Kept too", "Kept after"} <= names
    assert not names & {"Undone", "Undone with it"}
    assert accounts.get_account(kept.id).name == "Kept"


def test_after_commit_work_runs_once_the_outermost_transaction_commits_and_never_on_rollback(
        store):
    from tempclock.api.services.common import after_commit, transaction

    ran: list[str] = []
    after_commit(lambda: ran.append("no transaction: at once"))
    with transaction():
        with transaction():  # a savepoint: its work waits for the outer commit
            after_commit(lambda: ran.append("inner"))
        after_commit(lambda: ran.append("outer"))
        assert ran == ["no transaction: at once"]
    assert ran == ["no transaction: at once", "inner", "outer"]
    with pytest.raises(RuntimeError), transaction():
        after_commit(lambda: ran.append("rolled back"))
        raise RuntimeError("refused")
    with transaction():
        after_commit(lambda: 1 / 0)  # logged; the committed data stands
        accounts.create_account("Committed Anyway")
    assert ran == ["no transaction: at once", "inner", "outer"]
    assert [a.name for a in accounts.list_accounts()] == ["Committed Anyway"]
