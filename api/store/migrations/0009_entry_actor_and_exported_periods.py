"""Who wrote each time-entry change, and which pay periods payroll has exported (they lock)."""
from peewee import *


def up(migrator, db):
    # Before this migration only the desktop could correct an entry.
    migrator.migrate(
        migrator.add_column('entry_edit', 'action',
                            CharField(max_length=10, default='corrected')),
        migrator.add_column('entry_edit', 'actor_type',
                            CharField(max_length=10, default='desktop')),
        migrator.add_column('entry_edit', 'actor_key_id', IntegerField(null=True)),
        migrator.add_column('entry_edit', 'actor_name',
                            CharField(max_length=100, default='desktop')),
    )

    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class ConnectorRun(Model):
        class Meta:
            database = db
            table_name = 'connector_run'

    class ExportedPeriod(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        run = ForeignKeyField(ConnectorRun, null=True, on_delete='SET NULL')
        connector = CharField(max_length=100)
        date_from = DateField()
        date_to = DateField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'exported_period'
            indexes = ((('account', 'date_from', 'date_to'), False),)
    db.create_tables([ExportedPeriod])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table('exported_period'),
        migrator.drop_column('entry_edit', 'actor_name'),
        migrator.drop_column('entry_edit', 'actor_key_id'),
        migrator.drop_column('entry_edit', 'actor_type'),
        migrator.drop_column('entry_edit', 'action'),
    )
