"""Clocking (`POST /clock`): in, out, break start, break end."""

from __future__ import annotations

from litestar import Controller, Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody

from tempclock.api.http.idempotent import IdempotencyKey, respond_once
from tempclock.api.http.routing import Identity, WithMessage, both_paths, endpoint
from tempclock.api.services import clocking
from tempclock.api.services.clocking import ClockRequest
from tempclock.api.services.timesheets import TimeEntry

_DONE = {
    "in": "clocked in",
    "out": "clocked out",
    "break_start": "started a break",
    "break_end": "ended a break",
}


class ClockController(Controller):
    path = "/"
    tags = ["Clock"]

    @endpoint("POST", both_paths("clock"), operation_id="clock", scope="clock:write",
              summary="Clock a worker in or out, or start or end a break",
              description="`in` answers 201 with the new open entry; `out`, `break_start` and "
                          "`break_end` answer 200 with the entry. 409 when the worker is "
                          "already clocked in (or has no open entry), naming the entry.",
              errors=(404, 409), status_code=201,
              responses={200: ResponseSpec(WithMessage[TimeEntry], description="Entry updated",
                                           generate_examples=False)})
    def clock(self, request: Request, identity: Identity, data: JSONBody[ClockRequest],
              idempotency_key: IdempotencyKey = None) -> Response[WithMessage[TimeEntry]]:
        def act() -> tuple[int, WithMessage[TimeEntry]]:
            entry = clocking.clock(identity.account_id, data)
            done = _DONE[data.action or ""]
            return (201 if data.action == "in" else 200,
                    WithMessage(entry, f"{entry.worker_name} {done} at {entry.location_name}"))

        return respond_once(request, identity, idempotency_key, "clock", data, act)
