"""Locations (work sites): list, one."""

from __future__ import annotations

from litestar import Controller
from litestar.params import FromPath

from api.http.routing import Identity, One, Query, both_paths, endpoint, one_or_page
from api.services import locations
from api.services.common import Page
from api.services.locations import Location, LocationFilter


class LocationController(Controller):
    path = "/"
    tags = ["Locations"]

    @endpoint("GET", both_paths("locations"), operation_id="list_locations",
              scope="locations:read", summary="List work sites, or one with ?id=")
    def list_locations(self, identity: Identity,
                       params: Query[LocationFilter]) -> Page[Location] | One[Location]:
        account = identity.account_id
        return one_or_page(params, lambda i: locations.get_location(account, i),
                           lambda p: locations.list_locations(account, p))

    @endpoint("GET", "/locations/{location_id:int}", operation_id="get_location",
              scope="locations:read", summary="One work site")
    def get_location(self, identity: Identity, location_id: FromPath[int]) -> One[Location]:
        return One(locations.get_location(identity.account_id, location_id))
