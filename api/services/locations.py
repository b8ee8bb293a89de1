"""Locations: client sites with an address, a centre, an IANA time zone and clocking settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType
from peewee import fn

from tempclock.api.services import periods
from tempclock.api.services.common import (
    ListParams,
    Page,
    check_choice,
    check_range,
    clean_text,
    fetch,
    fetch_one,
    local_date,
    paginate,
    save_row,
    set_fields,
    transaction,
    utc,
    utcnow,
    zone,
)
from tempclock.api.services.errors import Conflict, Invalid
from tempclock.api.store.models import Location as LocationRow
from tempclock.api.store.models import Shift as ShiftRow
from tempclock.api.store.models import TimeEntry as TimeEntryRow
from tempclock.api.store.prepared import Prepared

GEOFENCE_MODES = ("off", "allow", "warn", "block")
LANGUAGES = ("en", "pl", "ro", "lt")


class LocationSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How clocking behaves at a site."""

    geofence_mode: str = "off"  # off | allow | warn | block
    geofence_radius_m: int = 200
    gps_accuracy_threshold: int = 100  # metres; a worse fix is flagged, never refused
    kiosk_language: str = "en"
    max_backdate_hours: int = 12


class LocationSettingsUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Changes to a site's clocking settings; fields left UNSET stay as they are."""

    geofence_mode: str | UnsetType = UNSET
    geofence_radius_m: int | UnsetType = UNSET
    gps_accuracy_threshold: int | UnsetType = UNSET
    kiosk_language: str | UnsetType = UNSET
    max_backdate_hours: int | UnsetType = UNSET


class Location(msgspec.Struct, kw_only=True):
    id: int
    name: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    country: str
    latitude: float | None
    longitude: float | None
    timezone: str
    capacity: int | None
    on_site: int
    active: bool
    settings: LocationSettings
    created_at: dt.datetime
    updated_at: dt.datetime


class LocationCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new site: `name` and `timezone` (an IANA name) required."""

    name: str
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None
    timezone: str
    capacity: int | None = None
    active: bool = True
    settings: LocationSettings = msgspec.field(default_factory=LocationSettings)


class LocationUpdate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Changes to a site; fields left UNSET stay as they are."""

    name: str | UnsetType = UNSET
    address_line1: str | UnsetType = UNSET
    address_line2: str | UnsetType = UNSET
    city: str | UnsetType = UNSET
    postcode: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    latitude: float | None | UnsetType = UNSET
    longitude: float | None | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    capacity: int | None | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    settings: LocationSettingsUpdate | UnsetType = UNSET


class LocationFilter(ListParams, kw_only=True):
    active: bool | None = None
    search: str | None = None


def _on_site_counts():
    return (
        TimeEntryRow.select(fn.COUNT(TimeEntryRow.id))
        .where((TimeEntryRow.location == LocationRow.id) & TimeEntryRow.clock_out.is_null())
    )


def _query(account_id: int):
    return (
        LocationRow.select(LocationRow, _on_site_counts().alias("on_site"))
        .where(LocationRow.account == account_id)
    )


def settings_of(row: LocationRow) -> LocationSettings:
    """A location row's clocking settings."""
    return LocationSettings(
        geofence_mode=row.geofence_mode,
        geofence_radius_m=row.geofence_radius_m,
        gps_accuracy_threshold=row.gps_accuracy_threshold,
        kiosk_language=row.kiosk_language,
        max_backdate_hours=row.max_backdate_hours,
    )


def _record(row: LocationRow) -> Location:
    return Location(
        id=row.id,
        name=row.name,
        address_line1=row.address_line1,
        address_line2=row.address_line2,
        city=row.city,
        postcode=row.postcode,
        country=row.country,
        latitude=row.latitude,
        longitude=row.longitude,
        timezone=row.timezone,
        capacity=row.capacity,
        on_site=getattr(row, "on_site", 0) or 0,
        active=row.active,
        settings=settings_of(row),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


_ADDRESS_LIMITS = {"address_line1": 200, "address_line2": 200, "city": 100, "postcode": 20}


def _settings_columns(settings: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "geofence_mode" in settings:
        columns["geofence_mode"] = check_choice(
            settings["geofence_mode"], "settings.geofence_mode", GEOFENCE_MODES)
    for name, low, high in (
        ("geofence_radius_m", 10, 100_000),
        ("gps_accuracy_threshold", 1, 10_000),
        ("max_backdate_hours", 0, 24 * 30),
    ):
        if name in settings:
            check_range(settings[name], f"settings.{name}", low, high)
            columns[name] = int(settings[name])
    if "kiosk_language" in settings:
        columns["kiosk_language"] = check_choice(
            settings["kiosk_language"], "settings.kiosk_language", LANGUAGES)
    return columns


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    if "name" in fields:
        columns["name"] = clean_text(fields["name"], "name", max_length=200, required=True)
    for name, limit in _ADDRESS_LIMITS.items():
        if name in fields:
            columns[name] = clean_text(fields[name], name, max_length=limit) or ""
    if "country" in fields:
        country = (clean_text(fields["country"], "country", max_length=2) or "").upper()
        if country and not (len(country) == 2 and country.isalpha()):
            raise Invalid("country must be a two-letter ISO code such as GB", field="country")
        columns["country"] = country
    if "latitude" in fields:
        check_range(fields["latitude"], "latitude", -90, 90)
        columns["latitude"] = fields["latitude"]
    if "longitude" in fields:
        check_range(fields["longitude"], "longitude", -180, 180)
        columns["longitude"] = fields["longitude"]
    if "timezone" in fields:
        zone(fields["timezone"])
        columns["timezone"] = fields["timezone"]
    if "capacity" in fields:
        if fields["capacity"] is not None:
            check_range(fields["capacity"], "capacity", 0, 100_000)
        columns["capacity"] = fields["capacity"]
    if "active" in fields:
        columns["active"] = bool(fields["active"])
    settings = fields.get("settings")
    if isinstance(settings, msgspec.Struct):
        columns.update(_settings_columns(set_fields(settings)))
    return columns


def _check_centre(row: LocationRow) -> None:
    if (row.latitude is None) != (row.longitude is None):
        raise Invalid("latitude and longitude must be given together", field="latitude")
    if row.geofence_mode != "off" and row.latitude is None:
        raise Invalid("A geofence needs the location's latitude and longitude "
                      f"(settings.geofence_mode is {row.geofence_mode!r})",
                      field="settings.geofence_mode")


def list_locations(account_id: int, params: LocationFilter | None = None) -> Page[Location]:
    """Locations of the account, each with how many workers are on site now."""
    params = params or LocationFilter()
    query = _query(account_id)
    if params.active is not None:
        query = query.where(LocationRow.active == params.active)
    if params.search:
        term = params.search.strip()
        query = query.where(LocationRow.name.contains(term) | LocationRow.city.contains(term))
    return paginate(query, LocationRow, params, _record)


_one = Prepared(lambda p: _query(p.account).where(LocationRow.id == p.id))


def get_location(account_id: int, location_id: int) -> Location:
    """One location of the account, or NotFound."""
    return _record(fetch_one(_one, "Location", location_id, account=account_id))


def _save(row: LocationRow, event: str) -> Location:
    _check_centre(row)
    return save_row(
        row,
        event=event,
        to_record=lambda r: get_location(r.account_id, r.id),
        duplicate=lambda: Conflict("That location conflicts with an existing one"),
    )


def create_location(account_id: int, data: LocationCreate) -> Location:
    """Create a work site."""
    row = LocationRow(account=account_id, **_columns(msgspec.structs.asdict(data)))
    return _save(row, "location_created")


def update_location(account_id: int, location_id: int, data: LocationUpdate) -> Location:
    """Change a site. A new time zone moves its entries and shifts to their new local dates."""
    row = fetch(LocationRow, account_id, location_id, "Location")
    old_zone = row.timezone
    for column, value in _columns(set_fields(data)).items():
        setattr(row, column, value)
    with transaction():
        record = _save(row, "location_updated")
        if row.timezone != old_zone:
            _redate(row)
    return record


def _redate(row: LocationRow) -> None:
    """Recompute the stored local dates of a location's entries and shifts after a zone change.

    Each one moved is marked updated, so an integrator syncing by `updated_since` sees it.
    Locked time keeps its date: an entry that is approved, or whose date before or
    after lies in an exported pay period, refuses the change (`period_locked`).
    """
    tz = zone(row.timezone)
    for model, column in ((TimeEntryRow, TimeEntryRow.clock_in), (ShiftRow, ShiftRow.start)):
        rows = list(model.select(model.id, column, model.work_date)
                    .where(model.location == row.id).tuples())
        for ident, moment, work_date in rows:
            new_date = local_date(moment, tz)
            if new_date == work_date:
                continue
            if model is TimeEntryRow:
                periods.refuse_approved(ident, TimeEntryRow.get_by_id(ident).status)
                periods.refuse_exported(row.account_id, [work_date, new_date])
            (model.update(work_date=new_date, updated_at=utcnow())  # integrators sync by it
             .where(model.id == ident)
             .execute())


def deactivate_location(account_id: int, location_id: int) -> Location:
    """Close a site to new clock-ins; its history stays."""
    return update_location(account_id, location_id, LocationUpdate(active=False))
