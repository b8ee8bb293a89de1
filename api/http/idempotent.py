"""Replaying creates sent with an `Idempotency-Key` (POST /clock, /shifts, /timesheets, /workers,
/webhooks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.params import HeaderParameter

from tempclock.api.services import idempotency
from tempclock.api.services.errors import Invalid
from tempclock.api.services.keys import KeyIdentity

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(name="Idempotency-Key", required=False, max_length=idempotency.MAX_KEY_LENGTH,
              description="Send the same key when retrying: the first response is returned "
                          "and nothing is created twice. Kept 24 hours, per account."),
]


def respond_once(
    request: Request,
    identity: KeyIdentity,
    key: str | None,
    operation: str,
    data: msgspec.Struct,
    act: Callable[[], tuple[int, msgspec.Struct]],
    replayed: Callable[[Any], msgspec.Struct] | None = None,
) -> Response[Any]:
    """Run `act` (returning status and envelope) once per idempotency key.

    Without a key it simply runs. With one, a retry of the same request gets the
    first response back; a failed request keeps nothing, so its retry runs again.
    `replayed` turns the envelope into what is kept and replayed, when that must
    differ (a secret shown once is neither kept nor shown again).
    """
    if key is None:
        status, envelope = act()
        return Response(envelope, status_code=status)
    if len(request.headers.getall("idempotency-key")) > 1:  # which one a retry sends first varies
        raise Invalid("Send one Idempotency-Key header, not several", field="Idempotency-Key",
                      code="invalid_idempotency_key")
    account_id = identity.account_id
    stored = idempotency.begin(
        account_id, key, method=request.method, path=request.scope["path"],
        request_hash=idempotency.fingerprint(operation, msgspec.json.encode(data)),
    )
    if stored is not None:
        return Response(stored.body, status_code=stored.status_code,
                        media_type="application/json",
                        headers={"Idempotent-Replayed": "true"})
    try:
        status, envelope = act()
    except BaseException:
        idempotency.release(account_id, key)
        raise
    body = msgspec.json.encode(envelope)
    kept = body if replayed is None else msgspec.json.encode(replayed(envelope))
    idempotency.complete(account_id, key, status, kept)
    return Response(body, status_code=status, media_type="application/json")
