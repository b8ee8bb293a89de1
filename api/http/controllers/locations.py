"""Locations (work sites): list, one, create, update."""

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
from tempclock.api.services import locations
from tempclock.api.services.common import Page
from tempclock.api.services.locations import (
    Location,
    LocationCreate,
    LocationFilter,
    LocationUpdate,
)

LocationId = Annotated[int, QueryParameter(name="id", ge=1, le=MAX_ID,
                                           description="The location to change.")]


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

    @endpoint("POST", both_paths("locations"), operation_id="create_location",
              scope="locations:write", summary="Create a work site (name and IANA time zone)",
              errors=(409,), status_code=201)
    def create_location(self, request: Request, identity: Identity,
                        data: JSONBody[LocationCreate],
                        idempotency_key: IdempotencyKey = None) -> Response[WithMessage[Location]]:
        def create() -> tuple[int, WithMessage[Location]]:
            location = locations.create_location(identity.account_id, data)
            return 201, WithMessage(location, f"Location {location.id} created")

        return respond_once(request, identity, idempotency_key, "create_location", data, create)

    @endpoint("PATCH", both_paths("locations"), operation_id="update_location",
              scope="locations:write", summary="Update a work site given by ?id=",
              errors=(404, 409))
    def update_location(self, identity: Identity, data: JSONBody[LocationUpdate],
                        location_id: LocationId) -> WithMessage[Location]:
        return _update(identity, location_id, data)

    @endpoint("PATCH", "/locations/{location_id:int}", operation_id="update_location_by_path",
              scope="locations:write", summary="Update a work site", errors=(404, 409))
    def update_location_by_path(self, identity: Identity, data: JSONBody[LocationUpdate],
                                location_id: FromPath[int]) -> WithMessage[Location]:
        return _update(identity, location_id, data)


def _update(identity: Identity, location_id: int, data: LocationUpdate) -> WithMessage[Location]:
    location = locations.update_location(identity.account_id, location_id, data)
    return WithMessage(location, f"Location {location.id} updated")
