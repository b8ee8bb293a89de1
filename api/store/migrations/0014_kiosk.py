"""The worker-facing kiosk: PINs (keyed hashes, in a table of their own, so nothing that
reads workers ever carries them), per-site kiosk links (hashed tokens), sites' grace
minutes before a worker counts as late (10 when a site has none),
queued punches kept for idempotency and for the admin's list of refusals, and the
late/missed markers that make `shift_late` / `shift_missed` fire once per shift.

`time_entry.source` grows to hold `kiosk_offline` (PostgreSQL enforces varchar lengths;
SQLite does not, and rebuilding its table for nothing is avoided).
"""
from peewee import *


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql('ALTER TABLE time_entry ALTER COLUMN source TYPE VARCHAR(16)')

    class Account(Model):
        class Meta:
            database = db
            table_name = 'account'

    class Location(Model):
        class Meta:
            database = db
            table_name = 'location'

    class Worker(Model):
        class Meta:
            database = db
            table_name = 'worker'

    class Shift(Model):
        class Meta:
            database = db
            table_name = 'shift'

    class WorkerPin(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        worker = ForeignKeyField(Worker, on_delete='CASCADE', unique=True)
        pin_hash = CharField(max_length=64)
        class Meta:
            database = db
            table_name = 'worker_pin'
            indexes = ((('account', 'pin_hash'), True),)

    class LateGrace(Model):
        location = ForeignKeyField(Location, on_delete='CASCADE', primary_key=True)
        minutes = IntegerField()
        class Meta:
            database = db
            table_name = 'late_grace'

    class KioskLink(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        location = ForeignKeyField(Location, on_delete='CASCADE', unique=True)
        token_hash = CharField(max_length=64, unique=True)
        created_at = DateTimeField()
        wrong_pins = IntegerField(default=0)
        wrong_pins_since = DateTimeField(null=True)
        locked_until = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'kiosk_link'

    class KioskPunch(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        location = ForeignKeyField(Location, on_delete='CASCADE')
        worker = ForeignKeyField(Worker, null=True, on_delete='CASCADE')
        idempotency_key = CharField(max_length=100)
        action = CharField(max_length=12)
        device_time = DateTimeField(null=True)
        received_at = DateTimeField()
        outcome = CharField(max_length=10)
        result = TextField(default='{}')
        code = CharField(max_length=50, null=True)
        reason = TextField(null=True)
        class Meta:
            database = db
            table_name = 'kiosk_punch'
            indexes = ((('location', 'idempotency_key'), True),
                       (('account', 'outcome', 'received_at'), False))

    class ShiftAlert(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        shift = ForeignKeyField(Shift, on_delete='CASCADE')
        kind = CharField(max_length=8)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'shift_alert'
            indexes = ((('shift', 'kind'), True),)

    db.create_tables([WorkerPin, LateGrace, KioskLink, KioskPunch, ShiftAlert])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table('shift_alert'),
        migrator.drop_table('kiosk_punch'),
        migrator.drop_table('kiosk_link'),
        migrator.drop_table('late_grace'),
        migrator.drop_table('worker_pin'),
    )
