"""A counter that moves whenever a key's or an account's API access changes (key checks cache on it)."""
from peewee import *


def up(migrator, db):
    class AuthState(Model):
        generation = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'auth_state'
    db.create_tables([AuthState])
    AuthState.insert(id=1, generation=0).execute()


def down(migrator, db):
    migrator.migrate(migrator.drop_table('auth_state'))
