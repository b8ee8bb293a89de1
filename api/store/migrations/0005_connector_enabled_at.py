"""When a connector was switched on for an account: it hears events from then on, not before."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('connector_config', 'enabled_at', DateTimeField(null=True)))
    # Connectors already on have heard everything up to now.
    db.execute_sql("UPDATE connector_config SET enabled_at = updated_at WHERE enabled")


def down(migrator, db):
    migrator.migrate(migrator.drop_column('connector_config', 'enabled_at'))
