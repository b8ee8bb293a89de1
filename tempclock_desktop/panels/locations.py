"""Locations: the client sites where workers clock in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tempclock.api.services import locations
from tempclock_desktop import session as kinds
from tempclock_desktop.choices import page_of
from tempclock_desktop.dialogs.kiosk_link import KioskLinkDialog
from tempclock_desktop.dialogs.location import LocationDialog
from tempclock_desktop.kiosk_listener import KioskListener
from tempclock_desktop.models.records import Column
from tempclock_desktop.panels.base import RecordPanel, RecordService
from tempclock_desktop.widgets import button


def _address(loc: locations.Location) -> str:
    return ", ".join(p for p in (loc.address_line1, loc.city, loc.postcode, loc.country) if p)


def _centre(loc: locations.Location) -> str:
    return "" if loc.latitude is None else f"{loc.latitude:.4f}, {loc.longitude:.4f}"


def _fence(loc: locations.Location) -> str:
    mode = loc.settings.geofence_mode
    return "Off" if mode == "off" else f"{mode.capitalize()} · {loc.settings.geofence_radius_m} m"


class LocationsPanel(RecordPanel):
    title = "Locations"
    subtitle = "Client sites: address, centre, time zone, capacity and geofence."
    icon_name = "locations"
    noun = "location"
    kind = kinds.LOCATIONS
    depends_on = (kinds.LOCATIONS, kinds.ENTRIES)
    empty_title = "No sites yet"
    empty_text = ("Sites are the client workplaces where your temps clock in: each has an "
                  "address, a time zone and, if you like, a geofence. Add the first one.")
    service = RecordService(locations.create_location, locations.update_location,
                            locations.deactivate_location)

    def __init__(self, session, parent=None) -> None:
        super().__init__(session, parent)
        self.kiosk_listener: KioskListener | None = None  # where tablets reach the kiosk
        self.kiosk_button = button("Kiosk…", "clock_in", on_click=self.open_kiosk_link,
                                   tip="The site's kiosk link, its QR poster, and when a "
                                       "worker counts as late there")
        self.header_actions.insertWidget(0, self.kiosk_button)
        self._selection_changed()

    def _selection_changed(self) -> None:
        super()._selection_changed()
        if hasattr(self, "kiosk_button"):
            record = self.selected()
            self.kiosk_button.setEnabled(record is not None and record.active)

    def open_kiosk_link(self) -> KioskLinkDialog | None:
        """The selected site's kiosk link: make, replace or revoke it, print its poster."""
        record = self.selected()
        if record is None:
            return None
        dialog = KioskLinkDialog(self, self.session.account_id, record, self.kiosk_listener)
        dialog.open()
        return dialog

    def empty_actions(self):
        add, demo = super().empty_actions()
        add.setText("Add site…")
        return [add, demo]

    def columns(self):
        return [
            Column("Name", lambda loc: loc.name),
            Column("Address", _address, stretch=True),
            Column("Time zone", lambda loc: loc.timezone),
            Column("Centre", _centre, secondary=True),
            Column("Geofence", _fence),
            Column("Capacity", lambda loc: "" if loc.capacity is None else str(loc.capacity),
                   lambda loc: loc.capacity or 0, align_right=True, width=80),
            Column("On site now", lambda loc: str(loc.on_site), lambda loc: loc.on_site,
                   align_right=True, width=100),
            Column("Status", lambda loc: "Active" if loc.active else "Inactive"),
        ]

    def fetch(self, account_id, after_id, search, include_inactive):
        return page_of(locations.list_locations, account_id, locations.LocationFilter, after_id,
                       search=search or None, active=None if include_inactive else True)

    def editor(self, record: locations.Location | None, save: Callable[[Any], Any],
               _context: None) -> LocationDialog:
        return LocationDialog(self, record, save)
