"""Shifts: list, one, create."""

from __future__ import annotations

from litestar import Controller, Request, Response
from litestar.params import FromPath, JSONBody

from tempclock.api.http.idempotent import IdempotencyKey, respond_once
from tempclock.api.http.routing import (
    Identity,
    One,
    Query,
    WithMessage,
    both_paths,
    endpoint,
    one_or_page,
)
from tempclock.api.services import shifts
from tempclock.api.services.common import Page
from tempclock.api.services.shifts import Shift, ShiftCreate, ShiftFilter


class ShiftController(Controller):
    path = "/"
    tags = ["Shifts"]

    @endpoint("GET", both_paths("shifts"), operation_id="list_shifts", scope="shifts:read",
              summary="List scheduled shifts, or one with ?id=")
    def list_shifts(self, identity: Identity, params: Query[ShiftFilter]) -> Page[Shift] | One[Shift]:
        account = identity.account_id
        return one_or_page(params, lambda i: shifts.get_shift(account, i),
                           lambda p: shifts.list_shifts(account, p))

    @endpoint("GET", "/shifts/{shift_id:int}", operation_id="get_shift", scope="shifts:read",
              summary="One shift")
    def get_shift(self, identity: Identity, shift_id: FromPath[int]) -> One[Shift]:
        return One(shifts.get_shift(identity.account_id, shift_id))

    @endpoint("POST", both_paths("shifts"), operation_id="create_shift", scope="shifts:write",
              summary="Schedule a shift (open when no worker is given)", errors=(404, 409),
              status_code=201,
              description="`start` and `end` are ISO-8601 with an offset, or local times at the "
                          "location; at most 24 hours apart. A worker cannot hold two "
                          "overlapping shifts (409).")
    def create_shift(self, request: Request, identity: Identity, data: JSONBody[ShiftCreate],
                     idempotency_key: IdempotencyKey = None) -> Response[WithMessage[Shift]]:
        def create() -> tuple[int, WithMessage[Shift]]:
            shift = shifts.create_shift(identity.account_id, data)
            return 201, WithMessage(shift, f"Shift {shift.id} created")

        return respond_once(request, identity, idempotency_key, "create_shift", data, create)
