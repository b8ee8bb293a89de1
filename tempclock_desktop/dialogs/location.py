"""Add or edit a location: address, centre, time zone, capacity and clocking settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from tempclock.api.services.common import zone_names
from tempclock.api.services.locations import (
    GEOFENCE_MODES,
    LANGUAGES,
    Location,
    LocationCreate,
    LocationSettings,
    LocationSettingsUpdate,
    LocationUpdate,
)
from tempclock_desktop.dialogs.fields import NumberField
from tempclock_desktop.dialogs.form import FormDialog
from tempclock_desktop.dialogs.worker import LANGUAGE_NAMES
from tempclock_desktop.widgets import combo_pick, fill_combo, label

GPS_ACCURACY_HELP = ("A clock-in whose phone reports its position less precisely than this is "
                     "marked “low GPS confidence” for you to check. It is still accepted.")
BACKDATING_HELP = ("How far back a clock-in or clock-out time may be entered. Older shifts are "
                   "added by hand in Timesheets (Add entry…), with a reason.")
HELP_WIDTH = 340  # the narrowest the field column gets: the help is never cut off below it


def _help(text: str) -> QLabel:
    """A plain sentence under a field, as tall as its wrapped lines need."""
    widget = label(text, "FieldHelp", wrap=True)
    widget.ensurePolished()
    widget.setMinimumHeight(widget.heightForWidth(HELP_WIDTH))
    return widget


MODE_NAMES = {
    "off": "Off: no distance check",
    "allow": "Allow: record the distance only",
    "warn": "Warn: record and flag clock-ins outside",
    "block": "Block: refuse clock-ins outside the fence",
}


def _spin(low: int, high: int, value: int, suffix: str = "") -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(low, high)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class LocationDialog(FormDialog):
    """`payload` is a LocationCreate (new) or LocationUpdate (edit)."""

    def __init__(self, parent: QWidget | None, location: Location | None,
                 save: Callable[[Any], Any]) -> None:
        super().__init__(parent, "Edit location" if location else "Add location",
                         save_text="Save" if location else "Add location", save=save)
        self.setMinimumWidth(560)  # the field column is HELP_WIDTH or wider
        self.location = location
        defaults = LocationSettings()
        self.name = QLineEdit()
        self.line1 = QLineEdit()
        self.line2 = QLineEdit()
        self.city = QLineEdit()
        self.postcode = QLineEdit()
        self.country = QLineEdit()
        self.country.setMaxLength(2)
        self.country.setPlaceholderText("GB")
        self.latitude = NumberField(-90, 90, 6, "e.g. 53.8008")
        self.longitude = NumberField(-180, 180, 6, "e.g. -1.4436")
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        zones = sorted(zone_names())
        self.timezone.addItems(zones)
        self.timezone.completer().setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.timezone.setCurrentText("Europe/London")
        self.has_capacity = QCheckBox("Limit")
        self.capacity = _spin(0, 100_000, 20, " workers")
        self.capacity.setEnabled(False)
        self.has_capacity.toggled.connect(self.capacity.setEnabled)
        self.mode = QComboBox()
        fill_combo(self.mode, [(MODE_NAMES[m], m) for m in GEOFENCE_MODES])
        self.radius = _spin(10, 100_000, defaults.geofence_radius_m, " m")
        self.accuracy = _spin(1, 10_000, defaults.gps_accuracy_threshold, " m")
        self.backdate = _spin(0, 24 * 30, defaults.max_backdate_hours, " h")
        self.language = QComboBox()
        fill_combo(self.language, [(LANGUAGE_NAMES[code], code) for code in LANGUAGES])
        self.active = QCheckBox("Active (open for clock-ins)")
        self.active.setChecked(True)

        self.add_row("Name", self.name, "name")
        self.add_row("Address line 1", self.line1, "address_line1")
        self.add_row("Address line 2", self.line2, "address_line2")
        self.add_row("City", self.city, "city")
        self.add_row("Postcode", self.postcode, "postcode")
        self.add_row("Country", self.country, "country")
        self.add_row("Latitude", self.latitude, "latitude")
        self.add_row("Longitude", self.longitude, "longitude")
        self.add_row("Time zone", self.timezone, "timezone")
        capacity_row = QWidget()
        row = QHBoxLayout(capacity_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.has_capacity)
        row.addWidget(self.capacity, 1)
        self.add_row("Capacity", capacity_row, "capacity")
        self.add_row("Geofence", self.mode, "settings.geofence_mode")
        self.add_row("Fence radius", self.radius, "settings.geofence_radius_m")
        self.add_row("GPS accuracy flag", self.accuracy, "settings.gps_accuracy_threshold")
        self.form.addRow("", _help(GPS_ACCURACY_HELP))
        self.add_row("Backdating limit", self.backdate, "settings.max_backdate_hours")
        self.form.addRow("", _help(BACKDATING_HELP))
        self.add_row("Kiosk language", self.language, "settings.kiosk_language")
        if location is not None:
            self.add_row("", self.active, "active")
            self._fill(location)

    def _fill(self, location: Location) -> None:
        self.name.setText(location.name)
        self.line1.setText(location.address_line1)
        self.line2.setText(location.address_line2)
        self.city.setText(location.city)
        self.postcode.setText(location.postcode)
        self.country.setText(location.country)
        self.latitude.set_number(location.latitude)
        self.longitude.set_number(location.longitude)
        self.timezone.setCurrentText(location.timezone)
        self.has_capacity.setChecked(location.capacity is not None)
        if location.capacity is not None:
            self.capacity.setValue(location.capacity)
        settings = location.settings
        combo_pick(self.mode, settings.geofence_mode)
        self.radius.setValue(settings.geofence_radius_m)
        self.accuracy.setValue(settings.gps_accuracy_threshold)
        self.backdate.setValue(settings.max_backdate_hours)
        combo_pick(self.language, settings.kiosk_language)
        self.active.setChecked(location.active)

    @property
    def payload(self) -> LocationCreate | LocationUpdate:
        settings = {
            "geofence_mode": self.mode.currentData(),
            "geofence_radius_m": self.radius.value(),
            "gps_accuracy_threshold": self.accuracy.value(),
            "max_backdate_hours": self.backdate.value(),
            "kiosk_language": self.language.currentData(),
        }
        values = {
            "name": self.name.text(),
            "address_line1": self.line1.text(),
            "address_line2": self.line2.text(),
            "city": self.city.text(),
            "postcode": self.postcode.text(),
            "country": self.country.text(),
            "latitude": self.latitude.number("latitude"),
            "longitude": self.longitude.number("longitude"),
            "timezone": self.timezone.currentText().strip(),
            "capacity": self.capacity.value() if self.has_capacity.isChecked() else None,
        }
        if self.location is None:
            return LocationCreate(**values, settings=LocationSettings(**settings))
        return LocationUpdate(**values, active=self.active.isChecked(),
                              settings=LocationSettingsUpdate(**settings))
