"""Time entries (`/timesheets`): list with filters, one entry."""

from __future__ import annotations

from litestar import Controller
from litestar.params import FromPath

from api.http.routing import Identity, One, Query, both_paths, endpoint, one_or_page
from api.services import timesheets
from api.services.common import Page
from api.services.timesheets import TimeEntry, TimeEntryFilter


class TimesheetController(Controller):
    path = "/"
    tags = ["Timesheets"]

    @endpoint("GET", both_paths("timesheets"), operation_id="list_time_entries",
              scope="timesheets:read",
              summary="Time entries by local work date, worker, site...; or one with ?id=",
              description="An entry belongs to the local date, in its location's time zone, on "
                          "which it was clocked in. `entry_filter`: `shifts` (completed, the "
                          "default), `active` (still clocked in), `breaks`, `all`.")
    def list_time_entries(self, identity: Identity,
                          params: Query[TimeEntryFilter]) -> Page[TimeEntry] | One[TimeEntry]:
        account = identity.account_id
        return one_or_page(params, lambda i: timesheets.get_entry(account, i),
                           lambda p: timesheets.list_entries(account, p))

    @endpoint("GET", "/timesheets/{entry_id:int}", operation_id="get_time_entry",
              scope="timesheets:read", summary="One time entry")
    def get_time_entry(self, identity: Identity, entry_id: FromPath[int]) -> One[TimeEntry]:
        return One(timesheets.get_entry(identity.account_id, entry_id))
