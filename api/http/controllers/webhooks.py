"""Webhook subscriptions: list, one (with recent deliveries), create, update, delete, ping."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response
from litestar.params import FromPath, JSONBody, QueryParameter

from tempclock.api.http.idempotent import IdempotencyKey, respond_once
from tempclock.api.http.routing import (
    MAX_ID,
    Identity,
    One,
    Query,
    WithMessage,
    both_paths,
    endpoint,
)
from tempclock.api.services import webhooks
from tempclock.api.services.common import Page
from tempclock.api.services.webhooks import (
    PingQueued,
    WebhookCreate,
    WebhookCreated,
    WebhookDetail,
    WebhookFilter,
    WebhookSubscription,
    WebhookUpdate,
)

WebhookId = Annotated[int, QueryParameter(name="id", ge=1, le=MAX_ID,
                                     description="The subscription.")]


class WebhookController(Controller):
    path = "/"
    tags = ["Webhooks"]

    @endpoint("GET", both_paths("webhooks"), operation_id="list_webhooks", scope="webhooks:read",
              summary="List subscriptions, or one with its recent deliveries with ?id=")
    def list_webhooks(self, identity: Identity,
                      params: Query[WebhookFilter]) -> Page[WebhookSubscription] | One[WebhookDetail]:
        if params.id is not None:
            return One(webhooks.get_webhook(identity.account_id, params.id))
        return webhooks.list_webhooks(identity.account_id, params)

    @endpoint("GET", "/webhooks/{webhook_id:int}", operation_id="get_webhook",
              scope="webhooks:read", summary="One subscription with its recent deliveries")
    def get_webhook(self, identity: Identity, webhook_id: FromPath[int]) -> One[WebhookDetail]:
        return One(webhooks.get_webhook(identity.account_id, webhook_id))

    @endpoint("POST", both_paths("webhooks"), operation_id="create_webhook",
              scope="webhooks:write", summary="Subscribe a URL to events", errors=(),
              status_code=201,
              description="The response carries the signing `secret`; it is never shown again "
                          "(a replay with the same Idempotency-Key has `secret: null`). URLs "
                          "must be HTTPS to a public address unless the admin allowed internal "
                          "targets for the account.")
    def create_webhook(self, request: Request, identity: Identity, data: JSONBody[WebhookCreate],
                       idempotency_key: IdempotencyKey = None
                       ) -> Response[WithMessage[WebhookCreated]]:
        def create() -> tuple[int, WithMessage[WebhookCreated]]:
            created = webhooks.create_webhook(identity.account_id, data)
            return 201, WithMessage(created, f"Webhook {created.id} created; store its secret "
                                             "now, it will not be shown again")

        def replayed(sent: WithMessage[WebhookCreated]) -> WithMessage[WebhookCreated]:
            return WithMessage(webhooks.as_replayed(sent.data), webhooks.REPLAY_NOTE)

        return respond_once(request, identity, idempotency_key, "create_webhook", data, create,
                            replayed)

    @endpoint("PUT", both_paths("webhooks"), operation_id="update_webhook",
              scope="webhooks:write", summary="Change a subscription given by ?id=")
    def update_webhook(self, identity: Identity, data: JSONBody[WebhookUpdate],
                       webhook_id: WebhookId) -> WithMessage[WebhookSubscription]:
        return _update(identity, webhook_id, data)

    @endpoint("PUT", "/webhooks/{webhook_id:int}", operation_id="update_webhook_by_path",
              scope="webhooks:write", summary="Change a subscription")
    def update_webhook_by_path(self, identity: Identity, data: JSONBody[WebhookUpdate],
                               webhook_id: FromPath[int]) -> WithMessage[WebhookSubscription]:
        return _update(identity, webhook_id, data)

    @endpoint("DELETE", both_paths("webhooks"), operation_id="delete_webhook",
              scope="webhooks:write", summary="Delete a subscription given by ?id=",
              status_code=200)
    def delete_webhook(self, identity: Identity,
                       webhook_id: WebhookId) -> WithMessage[WebhookSubscription]:
        return _delete(identity, webhook_id)

    @endpoint("DELETE", "/webhooks/{webhook_id:int}", operation_id="delete_webhook_by_path",
              scope="webhooks:write", summary="Delete a subscription", status_code=200)
    def delete_webhook_by_path(self, identity: Identity,
                               webhook_id: FromPath[int]) -> WithMessage[WebhookSubscription]:
        return _delete(identity, webhook_id)

    @endpoint("POST", "/webhooks/{webhook_id:int}/ping", operation_id="ping_webhook",
              scope="webhooks:write", summary="Queue a ping event to this subscription",
              status_code=202)
    def ping_webhook(self, identity: Identity, webhook_id: FromPath[int]) -> WithMessage[PingQueued]:
        queued = webhooks.ping_webhook(identity.account_id, webhook_id)
        return WithMessage(queued, f"Ping queued for webhook {webhook_id}")


def _update(identity: Identity, webhook_id: FromPath[int],
            data: JSONBody[WebhookUpdate]) -> WithMessage[WebhookSubscription]:
    updated = webhooks.update_webhook(identity.account_id, webhook_id, data)
    return WithMessage(updated, f"Webhook {updated.id} updated")


def _delete(identity: Identity, webhook_id: FromPath[int]) -> WithMessage[WebhookSubscription]:
    deleted = webhooks.delete_webhook(identity.account_id, webhook_id)
    return WithMessage(deleted, f"Webhook {deleted.id} deleted")
