"""The first schema: accounts, keys, the agency's data, the outbox, logs and idempotency records."""
from peewee import *


def up(migrator, db):
    class Account(Model):
        name = CharField(unique=True, max_length=200)
        api_enabled = BooleanField(default=False)
        log_retention_days = IntegerField(default=90)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'account'
    db.create_tables([Account])

    class ApiKey(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        name = CharField(max_length=100)
        prefix = CharField(max_length=32)
        key_hash = CharField(unique=True, max_length=64)
        scopes = TextField(default='')
        rate_limit = IntegerField(default=60)
        expires_at = DateTimeField(null=True)
        revoked_at = DateTimeField(null=True)
        last_used_at = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'api_key'
    db.create_tables([ApiKey])

    class ApiLog(Model):
        account = ForeignKeyField(Account, null=True, on_delete='CASCADE')
        key = ForeignKeyField(ApiKey, null=True, on_delete='SET NULL')
        key_name = CharField(null=True, max_length=100)
        key_prefix = CharField(null=True, max_length=32)
        method = CharField(max_length=10)
        path = CharField(max_length=500)
        query = TextField(default='')
        status = IntegerField()
        duration_ms = FloatField()
        client = CharField(max_length=64, default='')
        user_agent = CharField(max_length=300, default='')
        request_id = CharField(max_length=64)
        error_code = CharField(null=True, max_length=50)
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'api_log'
            indexes = ((('account', 'created_at'), False), (('key', 'created_at'), False), (('status', 'created_at'), False))
    db.create_tables([ApiLog])

    class Location(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        name = CharField(max_length=200)
        address_line1 = CharField(max_length=200, default='')
        address_line2 = CharField(max_length=200, default='')
        city = CharField(max_length=100, default='')
        postcode = CharField(max_length=20, default='')
        country = CharField(max_length=2, default='')
        latitude = FloatField(null=True)
        longitude = FloatField(null=True)
        timezone = CharField(max_length=64, default='UTC')
        capacity = IntegerField(null=True)
        active = BooleanField(default=True)
        geofence_mode = CharField(max_length=8, default='off')
        geofence_radius_m = IntegerField(default=200)
        gps_accuracy_threshold = IntegerField(default=100)
        kiosk_language = CharField(max_length=2, default='en')
        max_backdate_hours = IntegerField(default=12)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'location'
            indexes = ((('account', 'updated_at'), False),)
    db.create_tables([Location])

    class Department(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        name = CharField(max_length=100)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'department'
            indexes = ((('account', 'name'), True), (('account', 'updated_at'), False))
    db.create_tables([Department])

    class Worker(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        first_name = CharField(max_length=100)
        last_name = CharField(max_length=100)
        employee_ref = CharField(null=True, max_length=50)
        email = CharField(null=True, max_length=254)
        phone = CharField(null=True, max_length=40)
        role = CharField(null=True, max_length=100)
        location = ForeignKeyField(Location, null=True)
        department = ForeignKeyField(Department, null=True)
        assignment_starts_on = DateField(null=True)
        assignment_ends_on = DateField(null=True)
        preferred_language = CharField(max_length=2, default='en')
        active = BooleanField(default=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'worker'
            indexes = ((('account', 'employee_ref'), True), (('account', 'updated_at'), False), (('account', 'last_name', 'first_name'), False))
    db.create_tables([Worker])

    class CostCode(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        code = CharField(max_length=50)
        name = CharField(max_length=100)
        department = ForeignKeyField(Department, null=True)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'cost_code'
            indexes = ((('account', 'code'), True), (('account', 'updated_at'), False))
    db.create_tables([CostCode])

    class Shift(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        worker = ForeignKeyField(Worker, null=True)
        location = ForeignKeyField(Location)
        department = ForeignKeyField(Department, null=True)
        cost_code = ForeignKeyField(CostCode, null=True)
        role = CharField(null=True, max_length=100)
        start = DateTimeField()
        end = DateTimeField()
        work_date = DateField()
        break_minutes = IntegerField(default=0)
        notes = TextField(null=True)
        status = CharField(max_length=10, default='scheduled')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'shift'
            indexes = ((('account', 'work_date'), False), (('account', 'location', 'work_date'), False), (('worker', 'start'), False), (('account', 'updated_at'), False))
    db.create_tables([Shift])

    class TimeEntry(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        worker = ForeignKeyField(Worker)
        location = ForeignKeyField(Location)
        department = ForeignKeyField(Department, null=True)
        cost_code = ForeignKeyField(CostCode, null=True)
        shift = ForeignKeyField(Shift, null=True)
        clock_in = DateTimeField()
        clock_out = DateTimeField(null=True)
        work_date = DateField()
        break_seconds = IntegerField(default=0)
        worked_seconds = IntegerField(null=True)
        status = CharField(max_length=10, default='open')
        source = CharField(max_length=10, default='api')
        latitude = FloatField(null=True)
        longitude = FloatField(null=True)
        gps_accuracy = FloatField(null=True)
        within_geofence = BooleanField(null=True)
        distance_meters = FloatField(null=True)
        low_gps_confidence = BooleanField(default=False)
        notes = TextField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'time_entry'
            indexes = ((('account', 'work_date'), False), (('account', 'location', 'work_date'), False), (('account', 'status'), False), (('worker', 'clock_in'), False), (('account', 'updated_at'), False))
    db.create_tables([TimeEntry])
    # One open entry per worker, enforced by the database itself.
    db.execute_sql(
        'CREATE UNIQUE INDEX time_entry_one_open_per_worker '
        'ON time_entry (worker_id) WHERE clock_out IS NULL')

    class Break(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        entry = ForeignKeyField(TimeEntry, on_delete='CASCADE')
        start = DateTimeField()
        end = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'break'
    db.create_tables([Break])

    class ConnectorRun(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        connector = CharField(max_length=100)
        dry_run = BooleanField(default=False)
        status = CharField(max_length=12, default='running')
        settings = TextField(default='{}')
        counts = TextField(default='{}')
        errors = TextField(default='[]')
        started_at = DateTimeField()
        finished_at = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = 'connector_run'
            indexes = ((('account', 'connector', 'started_at'), False),)
    db.create_tables([ConnectorRun])

    class Event(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        type = CharField(max_length=50)
        data = TextField()
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'event'
    db.create_tables([Event])

    class IdempotencyRecord(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        key = CharField()
        method = CharField(max_length=10)
        path = CharField(max_length=500)
        request_hash = CharField(max_length=64)
        status_code = IntegerField()
        response_body = TextField()
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'idempotency_record'
            indexes = ((('account', 'key'), True),)
    db.create_tables([IdempotencyRecord])

    class WebhookSubscription(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        url = CharField(max_length=2000)
        events = TextField(default='*')
        description = CharField(max_length=500, default='')
        secret = CharField(max_length=100)
        active = BooleanField(default=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'webhook_subscription'
    db.create_tables([WebhookSubscription])

    class WebhookDelivery(Model):
        account = ForeignKeyField(Account, on_delete='CASCADE')
        subscription = ForeignKeyField(WebhookSubscription, on_delete='CASCADE')
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        event_type = CharField(max_length=50)
        attempt = IntegerField(default=1)
        state = CharField(max_length=10, default='pending')
        status_code = IntegerField(null=True)
        duration_ms = FloatField(null=True)
        error = TextField(null=True)
        next_attempt_at = DateTimeField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'webhook_delivery'
            indexes = ((('subscription', 'created_at'), False), (('state', 'next_attempt_at'), False))
    db.create_tables([WebhookDelivery])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('webhook_delivery'))
    migrator.migrate(migrator.drop_table('webhook_subscription'))
    migrator.migrate(migrator.drop_table('idempotency_record'))
    migrator.migrate(migrator.drop_table('event'))
    migrator.migrate(migrator.drop_table('connector_run'))
    migrator.migrate(migrator.drop_table('break'))
    migrator.migrate(migrator.drop_table('time_entry'))
    migrator.migrate(migrator.drop_table('shift'))
    migrator.migrate(migrator.drop_table('cost_code'))
    migrator.migrate(migrator.drop_table('worker'))
    migrator.migrate(migrator.drop_table('department'))
    migrator.migrate(migrator.drop_table('location'))
    migrator.migrate(migrator.drop_table('api_log'))
    migrator.migrate(migrator.drop_table('api_key'))
    migrator.migrate(migrator.drop_table('account'))

