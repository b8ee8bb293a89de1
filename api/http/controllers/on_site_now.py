"""Who is clocked in right now, by site."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller
from litestar.params import QueryParameter

from tempclock.api.http.routing import MAX_ID, Identity, One, both_paths, endpoint
from tempclock.api.services import timesheets
from tempclock.api.services.timesheets import OnSiteNow


class OnSiteNowController(Controller):
    path = "/"
    tags = ["On site now"]

    @endpoint("GET", both_paths("on-site-now", "/on_site_now.php"), operation_id="on_site_now",
              scope="timesheets:read", summary="Who is clocked in now, by site", errors=())
    def on_site_now(
        self,
        identity: Identity,
        location_id: Annotated[int | None, QueryParameter(name="location_id", ge=-MAX_ID, le=MAX_ID,
                                                     description="Only this site.")] = None,
    ) -> One[OnSiteNow]:
        return One(timesheets.on_site_now(identity.account_id, location_id))
