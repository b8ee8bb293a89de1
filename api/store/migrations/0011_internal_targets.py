"""Whether an account may send to internal addresses (who allowed it, when); scrub what was kept.

Delivery errors no longer keep a receiver's response body, and replayed webhook
creations no longer keep the signing secret: both are removed from stored rows.
"""
import json

from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('account', 'internal_targets_allowed',
                            BooleanField(default=False)),
        migrator.add_column('account', 'internal_targets_changed_at',
                            DateTimeField(null=True)),
        migrator.add_column('account', 'internal_targets_changed_by',
                            CharField(max_length=200, null=True)))
    class WebhookDelivery(Model):
        error = TextField(null=True)
        class Meta:
            database = db
            table_name = 'webhook_delivery'

    class IdempotencyRecord(Model):
        response_body = TextField()
        class Meta:
            database = db
            table_name = 'idempotency_record'

    # "HTTP 500: <body>" becomes "HTTP 500".
    (WebhookDelivery.update(error=fn.SUBSTR(WebhookDelivery.error, 1, 8))
     .where(WebhookDelivery.error ** 'HTTP ___:%')
     .execute())
    kept = IdempotencyRecord.select().where(IdempotencyRecord.response_body.contains('whsec_'))
    for record in kept:
        record.response_body = _without_secret(record.response_body)
        record.save()


def _without_secret(body):
    try:
        envelope = json.loads(body)
        envelope['data']['secret'] = None
        envelope['message'] = 'The signing secret was shown only in the first response'
        return json.dumps(envelope, separators=(',', ':'))
    except (ValueError, KeyError, TypeError):
        return '{}'


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('account', 'internal_targets_allowed'),
        migrator.drop_column('account', 'internal_targets_changed_at'),
        migrator.drop_column('account', 'internal_targets_changed_by'))
