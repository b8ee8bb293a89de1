"""An API log row may stand for several requests: the refusals of a blocked address or key,
aggregated per minute (`count`, 1 for every row written before)."""
from peewee import *


def up(migrator, db):
    # One statement that rewrites no row: instant on SQLite and PostgreSQL, whatever the size.
    db.execute_sql('ALTER TABLE api_log ADD COLUMN "count" INTEGER NOT NULL DEFAULT 1')


def down(migrator, db):
    migrator.migrate(migrator.drop_column('api_log', 'count'))
