"""Plugins' runtime problems are kept (the CLI and the desktop show them), and a connector's
saved settings name the distribution that owns it (never handed to another one)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('connector_config', 'package', CharField(max_length=200, null=True)))

    class PluginProblem(Model):
        plugin = CharField(max_length=200)
        package = CharField(max_length=200, null=True)
        stage = CharField(max_length=64)
        message = TextField()
        details = TextField(default='')
        count = IntegerField(default=1)
        first_seen = DateTimeField()
        last_seen = DateTimeField()
        key = CharField(max_length=64, unique=True)

        class Meta:
            database = db
            table_name = 'plugin_problem'
            indexes = ((('plugin', 'last_seen'), False),)

    db.create_tables([PluginProblem])


def down(migrator, db):
    db.execute_sql('DROP TABLE plugin_problem')
    migrator.migrate(migrator.drop_column('connector_config', 'package'))
