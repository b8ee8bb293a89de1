"""API log rows are written on every request: drop the two indexes the composite ones already cover."""
from peewee import *


def up(migrator, db):
    db.execute_sql('DROP INDEX IF EXISTS apilog_account_id')
    db.execute_sql('DROP INDEX IF EXISTS apilog_key_id')


def down(migrator, db):
    db.execute_sql('CREATE INDEX IF NOT EXISTS apilog_account_id ON api_log (account_id)')
    db.execute_sql('CREATE INDEX IF NOT EXISTS apilog_key_id ON api_log (key_id)')
