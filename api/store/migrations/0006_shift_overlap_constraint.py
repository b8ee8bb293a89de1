"""On PostgreSQL the database itself refuses two overlapping shifts of one worker.

An exclusion constraint over (worker, [start, end)) for shifts that are not cancelled,
the same rule `tempclock.api.services.shifts` checks. SQLite has no such constraint; there every
writer is serialised (BEGIN IMMEDIATE) and the service's check is the rule.
"""
from peewee import *


def up(migrator, db):
    if not isinstance(db, PostgresqlDatabase):
        return
    try:
        # btree_gist lets a GiST index compare worker ids with `=`; it ships with
        # PostgreSQL (contrib) and is trusted, so a database owner may create it.
        db.execute_sql('CREATE EXTENSION IF NOT EXISTS btree_gist')
    except DatabaseError as error:
        raise RuntimeError(
            'TempClock needs the btree_gist extension in this database (it refuses '
            'overlapping shifts); ask its administrator to run CREATE EXTENSION btree_gist '
            f'in it, then start TempClock again. PostgreSQL said: {error}') from error
    db.execute_sql(
        'ALTER TABLE shift ADD CONSTRAINT shift_no_overlap_per_worker '
        'EXCLUDE USING gist (worker_id WITH =, tsrange(start, "end") WITH &&) '
        "WHERE (worker_id IS NOT NULL AND status <> 'cancelled')")


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE shift DROP CONSTRAINT IF EXISTS shift_no_overlap_per_worker')
