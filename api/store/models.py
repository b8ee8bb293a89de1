"""The tables of the TempClock store.

Every row that belongs to an organisation carries its `account`. Times are
naive UTC datetimes; local dates (`work_date`) are computed by the services
through the location's IANA zone and stored so date filters use an index.
The schema itself is created by the migrations in `migrations/`, not from
these classes, so a change here needs a migration next to it.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    SQL,
    AutoField,
    BooleanField,
    CharField,
    DatabaseProxy,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

database = DatabaseProxy()


def utcnow() -> dt.datetime:
    """Now, as the naive UTC datetime the store keeps."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
        only_save_dirty = True  # an update writes only the fields it changed


class Account(BaseModel):
    """An organisation: an agency whose data and API keys are kept apart from every other's."""

    id = AutoField()
    name = CharField(max_length=200, unique=True)
    api_enabled = BooleanField(default=False)
    log_retention_days = IntegerField(default=90)
    # Webhooks and connectors may send to this PC and the office network (an admin's choice).
    internal_targets_allowed = BooleanField(default=False)
    internal_targets_changed_at = DateTimeField(null=True)
    internal_targets_changed_by = CharField(max_length=200, null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class ApiKey(BaseModel):
    """A named key an integrator presents as a Bearer token; only its SHA-256 hash is kept."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="api_keys", on_delete="CASCADE")
    name = CharField(max_length=100)
    prefix = CharField(max_length=32)
    key_hash = CharField(max_length=64, unique=True)
    scopes = TextField(default="")  # space separated; empty means full access
    rate_limit = IntegerField(default=60)
    expires_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class AuthState(BaseModel):
    """One row: `generation` moves whenever a key is revoked or an account's API access changes.

    Request checks remember verified keys for as long as it stands still.
    """

    id = AutoField()
    generation = IntegerField(default=0)


class Department(BaseModel):
    """A department of the agency's workforce (warehouse, drivers, cleaning...)."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="departments", on_delete="CASCADE")
    name = CharField(max_length=100)
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "name"), True), (("account", "updated_at"), False))


class CostCode(BaseModel):
    """A code that time is booked against for billing and payroll."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="cost_codes", on_delete="CASCADE")
    code = CharField(max_length=50)
    name = CharField(max_length=100)
    department = ForeignKeyField(Department, null=True, backref="cost_codes")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "code"), True), (("account", "updated_at"), False))


class Location(BaseModel):
    """A client site where workers clock in, with its time zone and geofence settings."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="locations", on_delete="CASCADE")
    name = CharField(max_length=200)
    address_line1 = CharField(max_length=200, default="")
    address_line2 = CharField(max_length=200, default="")
    city = CharField(max_length=100, default="")
    postcode = CharField(max_length=20, default="")
    country = CharField(max_length=2, default="")
    latitude = FloatField(null=True)
    longitude = FloatField(null=True)
    timezone = CharField(max_length=64, default="UTC")
    capacity = IntegerField(null=True)
    active = BooleanField(default=True)
    geofence_mode = CharField(max_length=8, default="off")
    geofence_radius_m = IntegerField(default=200)
    gps_accuracy_threshold = IntegerField(default=100)
    kiosk_language = CharField(max_length=2, default="en")
    max_backdate_hours = IntegerField(default=12)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "updated_at"), False),)


class Worker(BaseModel):
    """A temporary worker the agency places at client sites."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="workers", on_delete="CASCADE")
    first_name = CharField(max_length=100)
    last_name = CharField(max_length=100)
    employee_ref = CharField(max_length=50, null=True)
    email = CharField(max_length=254, null=True)
    phone = CharField(max_length=40, null=True)
    role = CharField(max_length=100, null=True)
    location = ForeignKeyField(Location, null=True, backref="workers")
    department = ForeignKeyField(Department, null=True, backref="workers")
    assignment_starts_on = DateField(null=True)
    assignment_ends_on = DateField(null=True)
    preferred_language = CharField(max_length=2, default="en")
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("account", "employee_ref"), True),
            (("account", "updated_at"), False),
            (("account", "last_name", "first_name"), False),
        )


class Shift(BaseModel):
    """A scheduled stretch of work at a location, assigned to a worker or open."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="shifts", on_delete="CASCADE")
    worker = ForeignKeyField(Worker, null=True, backref="shifts")
    location = ForeignKeyField(Location, backref="shifts")
    department = ForeignKeyField(Department, null=True)
    cost_code = ForeignKeyField(CostCode, null=True)
    role = CharField(max_length=100, null=True)
    start = DateTimeField()
    end = DateTimeField()
    work_date = DateField()  # local date of `start` at the location
    break_minutes = IntegerField(default=0)
    notes = TextField(null=True)
    status = CharField(max_length=10, default="scheduled")  # scheduled | open | cancelled
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("account", "work_date"), False),
            (("account", "location", "work_date"), False),
            (("worker", "start"), False),
            (("account", "updated_at"), False),
        )


class TimeEntry(BaseModel):
    """One clock-in to clock-out record of a worker at a location."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="time_entries", on_delete="CASCADE")
    worker = ForeignKeyField(Worker, backref="time_entries")
    location = ForeignKeyField(Location, backref="time_entries")
    department = ForeignKeyField(Department, null=True)
    cost_code = ForeignKeyField(CostCode, null=True)
    shift = ForeignKeyField(Shift, null=True)
    clock_in = DateTimeField()
    clock_out = DateTimeField(null=True)
    work_date = DateField()  # local date of `clock_in` at the location
    break_seconds = IntegerField(default=0)  # closed breaks only
    worked_seconds = IntegerField(null=True)  # set when the entry is closed
    status = CharField(max_length=10, default="open")  # open|completed|approved|disputed
    source = CharField(max_length=16, default="api")  # api|desktop|kiosk|kiosk_offline|import|manual
    latitude = FloatField(null=True)
    longitude = FloatField(null=True)
    gps_accuracy = FloatField(null=True)
    within_geofence = BooleanField(null=True)
    distance_meters = FloatField(null=True)
    low_gps_confidence = BooleanField(default=False)
    notes = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("account", "work_date"), False),
            (("account", "location", "work_date"), False),
            (("account", "status"), False),
            (("worker", "clock_in"), False),
            (("account", "updated_at"), False),
        )


# The database refuses a second open entry for a worker, whatever the concurrency.
TimeEntry.add_index(
    TimeEntry.index(TimeEntry.worker, unique=True, name="time_entry_one_open_per_worker").where(
        SQL("clock_out IS NULL")
    )
)


class Break(BaseModel):
    """A break inside a time entry; `end` is empty while the worker is on it."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    entry = ForeignKeyField(TimeEntry, backref="breaks", on_delete="CASCADE")
    start = DateTimeField()
    end = DateTimeField(null=True)


class EntryEdit(BaseModel):
    """A correction an admin made to a time entry: the old and new values, and why."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    entry = ForeignKeyField(TimeEntry, backref="edits", on_delete="CASCADE")
    action = CharField(max_length=10, default="corrected")  # created|corrected
    actor_type = CharField(max_length=10, default="desktop")  # api_key|desktop
    actor_key_id = IntegerField(null=True)  # the API key's id (kept after it is revoked)
    actor_name = CharField(max_length=100, default="desktop")
    reason = TextField()
    changes = TextField()  # JSON: {"field": [old, new]}
    created_at = DateTimeField(default=utcnow)


class WebhookSubscription(BaseModel):
    """An integrator's URL that receives chosen events, signed with its own secret."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="webhooks", on_delete="CASCADE")
    url = CharField(max_length=2000)
    events = TextField(default="*")  # space separated event names
    description = CharField(max_length=500, default="")
    secret = CharField(max_length=100)  # needed in clear to sign deliveries
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Event(BaseModel):
    """The outbox: every change, appended in the transaction that made it, in commit order."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="events", on_delete="CASCADE")
    type = CharField(max_length=50)
    data = TextField()  # JSON of the object as the API shows it
    created_at = DateTimeField(default=utcnow)


class WebhookDelivery(BaseModel):
    """One attempt to POST an event out: to a webhook subscription, or for a connector.

    A pending row is the next attempt, due at `next_attempt_at`; a failed attempt is
    followed by a new pending row (attempt + 1) until the retry window closes.
    """

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    subscription = ForeignKeyField(WebhookSubscription, null=True, backref="deliveries",
                                   on_delete="CASCADE")
    connector = CharField(max_length=64, null=True)  # set for a connector's delivery
    event = ForeignKeyField(Event, null=True, on_delete="SET NULL")
    event_type = CharField(max_length=50)
    message_id = CharField(max_length=64, null=True)  # the same on every retry
    url = CharField(max_length=2000, null=True)  # a connector's target; webhooks use theirs
    body = TextField(null=True)  # the exact bytes signed and sent
    headers = TextField(null=True)  # JSON of extra headers (connectors)
    attempt = IntegerField(default=1)
    state = CharField(max_length=10, default="pending")  # pending|sending|delivered|failed
    status_code = IntegerField(null=True)
    duration_ms = FloatField(null=True)
    error = TextField(null=True)
    next_attempt_at = DateTimeField(null=True)
    first_attempt_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("subscription", "created_at"), False), (("state", "next_attempt_at"), False))


class ConnectorConfig(BaseModel):
    """A connector's settings and on/off switch for one account."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    connector = CharField(max_length=64)
    enabled = BooleanField(default=False)
    enabled_at = DateTimeField(null=True)  # events before this are not the connector's
    settings = TextField(default="{}")
    updated_at = DateTimeField(default=utcnow)
    #: The distribution that owns the connector these settings were saved for; another
    #: distribution registering the same id never receives them (None: saved before 0012).
    package = CharField(max_length=200, null=True)

    class Meta:
        indexes = ((("account", "connector"), True),)


class DispatchCursor(BaseModel):
    """How far one stage of the dispatcher has read the outbox."""

    name = CharField(max_length=32, primary_key=True)
    last_event_id = IntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)


class ApiLog(BaseModel):
    """One API request that presented a key, valid or not, or one minute of a client's
    refusals for being over a limit (`count` of them). Never holds the key itself."""

    id = AutoField()
    # Indexed by the composite indexes below (a row is written per request: few indexes).
    account = ForeignKeyField(Account, null=True, on_delete="CASCADE", index=False)
    key = ForeignKeyField(ApiKey, null=True, on_delete="SET NULL", index=False)
    key_name = CharField(max_length=100, null=True)
    key_prefix = CharField(max_length=32, null=True)
    method = CharField(max_length=10)
    path = CharField(max_length=500)
    query = TextField(default="")
    status = IntegerField()
    duration_ms = FloatField()
    client = CharField(max_length=64, default="")
    user_agent = CharField(max_length=300, default="")
    request_id = CharField(max_length=64)
    error_code = CharField(max_length=50, null=True)
    created_at = DateTimeField(default=utcnow, index=True)
    count = IntegerField(default=1)  # requests this row stands for (aggregated 429s)

    class Meta:
        indexes = (
            (("account", "created_at"), False),
            (("key", "created_at"), False),
            (("status", "created_at"), False),
        )


class IdempotencyRecord(BaseModel):
    """The first response to a request sent with an Idempotency-Key, replayed on retries."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    key = CharField(max_length=255)
    method = CharField(max_length=10)
    path = CharField(max_length=500)
    request_hash = CharField(max_length=64)
    status_code = IntegerField()
    response_body = TextField()
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("account", "key"), True),)


class ConnectorRun(BaseModel):
    """One run of a connector plugin for an account, with its counts and errors."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    connector = CharField(max_length=100)
    dry_run = BooleanField(default=False)
    status = CharField(max_length=12, default="running")  # running|succeeded|failed|cancelled
    settings = TextField(default="{}")
    counts = TextField(default="{}")
    errors = TextField(default="[]")
    started_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("account", "connector", "started_at"), False),)


class ExportedPeriod(BaseModel):
    """Days [date_from, date_to] a payroll connector exported; time on them is locked."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    run = ForeignKeyField(ConnectorRun, null=True, on_delete="SET NULL")
    connector = CharField(max_length=100)
    date_from = DateField()
    date_to = DateField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("account", "date_from", "date_to"), False),)


class WorkerPin(BaseModel):
    """A worker's kiosk PIN, as its keyed hash (services/pins); unique within the account."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    worker = ForeignKeyField(Worker, on_delete="CASCADE", unique=True)
    pin_hash = CharField(max_length=64)

    class Meta:
        indexes = ((("account", "pin_hash"), True),)


class LateGrace(BaseModel):
    """How many minutes after a shift's start its worker counts as late at a site (else 10)."""

    location = ForeignKeyField(Location, on_delete="CASCADE", primary_key=True)
    minutes = IntegerField()


class KioskLink(BaseModel):
    """A site's kiosk link: only the token's hash is kept; wrong PINs lock the kiosk a while."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    location = ForeignKeyField(Location, on_delete="CASCADE", unique=True)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    wrong_pins = IntegerField(default=0)
    wrong_pins_since = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)


class KioskPunch(BaseModel):
    """A punch sent with an idempotency key (a queued offline one): applied or refused, once."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    location = ForeignKeyField(Location, on_delete="CASCADE")
    worker = ForeignKeyField(Worker, null=True, on_delete="CASCADE")
    idempotency_key = CharField(max_length=100)
    action = CharField(max_length=12)
    device_time = DateTimeField(null=True)
    received_at = DateTimeField(default=utcnow)
    outcome = CharField(max_length=10)  # applied | refused
    result = TextField(default="{}")  # JSON of the first answer, replayed on a retry
    code = CharField(max_length=50, null=True)
    reason = TextField(null=True)

    class Meta:
        indexes = ((("location", "idempotency_key"), True),
                   (("account", "outcome", "received_at"), False))


class ShiftAlert(BaseModel):
    """That a shift's `shift_late` or `shift_missed` event was fired (so it never fires twice)."""

    id = AutoField()
    account = ForeignKeyField(Account, on_delete="CASCADE")
    shift = ForeignKeyField(Shift, on_delete="CASCADE")
    kind = CharField(max_length=8)  # late | missed
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("shift", "kind"), True),)
class PluginProblem(BaseModel):
    """Something a plugin did wrong while running (a hook that raised or hung, a crash).

    One row per plugin, stage and message: a repeat counts and moves `last_seen`.
    """

    id = AutoField()
    plugin = CharField(max_length=200)
    package = CharField(max_length=200, null=True)
    stage = CharField(max_length=64)
    message = TextField()
    details = TextField(default="")  # the latest traceback
    count = IntegerField(default=1)
    first_seen = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)
    key = CharField(max_length=64, unique=True)  # sha256 of plugin, stage and message

    class Meta:
        indexes = ((("plugin", "last_seen"), False),)


MODELS: tuple[type[BaseModel], ...] = (
    Account,
    ApiKey,
    AuthState,
    Department,
    CostCode,
    Location,
    Worker,
    Shift,
    TimeEntry,
    Break,
    EntryEdit,
    WebhookSubscription,
    Event,
    WebhookDelivery,
    ApiLog,
    IdempotencyRecord,
    ConnectorRun,
    ExportedPeriod,
    ConnectorConfig,
    DispatchCursor,
    WorkerPin,
    LateGrace,
    KioskLink,
    KioskPunch,
    ShiftAlert,
    PluginProblem,
)
