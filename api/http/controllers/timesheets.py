"""Time entries (`/timesheets`): list with filters, one entry with its audit trail, and
time written after the fact (a manual entry, a correction)."""

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
    one_or_page,
)
from tempclock.api.services import clocking, timesheets
from tempclock.api.services.clocking import EntryCorrection, EntryCreate
from tempclock.api.services.common import Page
from tempclock.api.services.timesheets import TimeEntry, TimeEntryDetail, TimeEntryFilter

EntryId = Annotated[int, QueryParameter(name="id", ge=1, le=MAX_ID,
                                        description="The time entry to correct.")]
_LOCKS = ("409 `entry_overlap` when it meets another entry of the worker; 409 `period_locked` "
          "for an approved entry, a day in a pay period already exported to payroll, or new "
          "time on a day where the worker has approved time.")


class TimesheetController(Controller):
    path = "/"
    tags = ["Timesheets"]

    @endpoint("GET", both_paths("timesheets"), operation_id="list_time_entries",
              scope="timesheets:read",
              summary="Time entries by local work date, worker, site...; or one with ?id=",
              description="An entry belongs to the local date, in its location's time zone, on "
                          "which it was clocked in. `entry_filter`: `shifts` (completed, the "
                          "default), `active` (still clocked in), `breaks`, `all`. One entry "
                          "(`?id=`) comes with `edits`, its audit trail.")
    def list_time_entries(self, identity: Identity, params: Query[TimeEntryFilter]
                          ) -> Page[TimeEntry] | One[TimeEntryDetail]:
        account = identity.account_id
        return one_or_page(params, lambda i: timesheets.get_entry_detail(account, i),
                           lambda p: timesheets.list_entries(account, p))

    @endpoint("GET", "/timesheets/{entry_id:int}", operation_id="get_time_entry",
              scope="timesheets:read", summary="One time entry, with its audit trail (`edits`)")
    def get_time_entry(self, identity: Identity, entry_id: FromPath[int]) -> One[TimeEntryDetail]:
        return One(timesheets.get_entry_detail(identity.account_id, entry_id))

    @endpoint("POST", both_paths("timesheets"), operation_id="create_time_entry",
              scope="timesheets:write", summary="Add a finished entry by hand (source `manual`)",
              description="For time nobody could clock live (a night shift the kiosk never sent): "
                          "no backdating limit, but not in the future, breaks inside the entry, "
                          "`reason` required and kept in the audit trail. " + _LOCKS,
              errors=(404, 409), status_code=201)
    def create_time_entry(self, request: Request, identity: Identity,
                          data: JSONBody[EntryCreate], idempotency_key: IdempotencyKey = None
                          ) -> Response[WithMessage[TimeEntryDetail]]:
        def create() -> tuple[int, WithMessage[TimeEntryDetail]]:
            entry = clocking.add_entry(identity.account_id, data, actor=_actor(identity))
            return 201, WithMessage(entry, f"Time entry {entry.id} added for "
                                           f"{entry.worker_name}")

        return respond_once(request, identity, idempotency_key, "create_time_entry", data,
                            create)

    @endpoint("PATCH", both_paths("timesheets"), operation_id="correct_time_entry",
              scope="timesheets:write", summary="Correct the time entry given by ?id=",
              description="Fields left out stay as they are; `reason` is required and kept in "
                          "the audit trail. " + _LOCKS, errors=(404, 409))
    def correct_time_entry(self, identity: Identity, data: JSONBody[EntryCorrection],
                           entry_id: EntryId) -> WithMessage[TimeEntryDetail]:
        return _correct(identity, entry_id, data)

    @endpoint("PATCH", "/timesheets/{entry_id:int}", operation_id="correct_time_entry_by_path",
              scope="timesheets:write", summary="Correct a time entry",
              description="Fields left out stay as they are; `reason` is required and kept in "
                          "the audit trail. " + _LOCKS, errors=(404, 409))
    def correct_time_entry_by_path(self, identity: Identity, data: JSONBody[EntryCorrection],
                                   entry_id: FromPath[int]) -> WithMessage[TimeEntryDetail]:
        return _correct(identity, entry_id, data)


def _actor(identity: Identity) -> timesheets.Actor:
    return timesheets.key_actor(identity.key_id, identity.name)


def _correct(identity: Identity, entry_id: int, data: EntryCorrection
             ) -> WithMessage[TimeEntryDetail]:
    entry = clocking.correct_entry(identity.account_id, entry_id, data, actor=_actor(identity))
    return WithMessage(entry, f"Time entry {entry.id} corrected")
