"""Corrections to time entries keep their reason and old values."""
from peewee import *


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class TimeEntry(Model):
        class Meta:
            database = db
            table_name = 'time_entry'

    class EntryEdit(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        entry = ForeignKeyField(TimeEntry, on_delete='CASCADE')
        reason = TextField()
        changes = TextField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'entry_edit'
    db.create_tables([EntryEdit])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('entry_edit'))
