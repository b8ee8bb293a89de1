"""The location dialog offers only time zones a location may have."""

from __future__ import annotations

from tempclock_desktop.dialogs.location import LocationDialog


def test_the_location_dialog_offers_iana_zones_and_no_system_only_names(qtbot):
    dialog = LocationDialog(None, None, save=lambda payload: payload)
    qtbot.addWidget(dialog)
    offered = {dialog.timezone.itemText(i) for i in range(dialog.timezone.count())}
    assert {"Europe/London", "America/New_York", "Europe/Warsaw"} <= offered
    assert not offered & {"localtime", "posixrules", "Factory"}
