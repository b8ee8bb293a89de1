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
    # "HTTP 500: <body>" becomes "HTTP 500".
    db.execute_sql("UPDATE webhook_delivery SET error = substr(error, 1, 8) "
                   "WHERE error LIKE 'HTTP ___:%'")
    rows = db.execute_sql("SELECT id, response_body FROM idempotency_record "
                          "WHERE response_body LIKE '%whsec_%'").fetchall()
    for row_id, body in rows:
        db.execute_sql("UPDATE idempotency_record SET response_body = %s WHERE id = %s"
                       .replace('%s', db.param), (_without_secret(body), row_id))


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
