"""Connector settings per account, dispatcher cursors, and deliveries that carry their own body."""
from peewee import *


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class ConnectorConfig(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        connector = CharField(max_length=64)
        enabled = BooleanField(default=False)
        settings = TextField(default='{}')
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'connector_config'
            indexes = ((('account', 'connector'), True),)

    class DispatchCursor(Model):
        name = CharField(max_length=32, primary_key=True)
        last_event_id = IntegerField(default=0)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'dispatch_cursor'

    db.create_tables([ConnectorConfig, DispatchCursor])
    migrator.migrate(
        migrator.drop_not_null('webhook_delivery', 'subscription_id'),
        migrator.add_column('webhook_delivery', 'connector', CharField(max_length=64, null=True)),
        migrator.add_column('webhook_delivery', 'message_id', CharField(max_length=64, null=True)),
        migrator.add_column('webhook_delivery', 'url', CharField(max_length=2000, null=True)),
        migrator.add_column('webhook_delivery', 'body', TextField(null=True)),
        migrator.add_column('webhook_delivery', 'headers', TextField(null=True)),
        migrator.add_column('webhook_delivery', 'first_attempt_at', DateTimeField(null=True)),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('webhook_delivery', 'first_attempt_at'),
        migrator.drop_column('webhook_delivery', 'headers'),
        migrator.drop_column('webhook_delivery', 'body'),
        migrator.drop_column('webhook_delivery', 'url'),
        migrator.drop_column('webhook_delivery', 'message_id'),
        migrator.drop_column('webhook_delivery', 'connector'),
        migrator.add_not_null('webhook_delivery', 'subscription_id'),
    )
    migrator.migrate(migrator.drop_table('dispatch_cursor'), migrator.drop_table('connector_config'))
