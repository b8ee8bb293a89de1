"""`tempclock locations list|create|update`, run as a real process as an admin would."""

from __future__ import annotations

import json

import pytest
from cli_runs import one_error_line, one_json


@pytest.fixture
def agency(tc):
    tc("accounts", "create", "Acme")
    tc("accounts", "create", "Rival")
    return tc


def test_a_site_is_created_with_its_zone_and_backdating_window(agency):
    site = one_json(agency("locations", "create", "--account", "1", "--name", "Newark Depot",
                           "--timezone", "America/New_York", "--latitude", "40.7357",
                           "--longitude", "-74.1724", "--country", "us",
                           "--geofence-mode", "warn", "--max-backdate-hours", "48",
                           "--kiosk-language", "pl", "--json"))
    assert site["name"] == "Newark Depot" and site["timezone"] == "America/New_York"
    assert site["country"] == "US"
    assert site["settings"]["max_backdate_hours"] == 48
    assert site["settings"]["geofence_mode"] == "warn"
    assert site["settings"]["kiosk_language"] == "pl"
    assert site["settings"]["geofence_radius_m"] == 200  # the default, not given
    (listed,) = one_json(agency("locations", "list", "--account", "1", "--json"))["locations"]
    assert listed == site
    table = agency("locations", "list", "--account", "1").stdout
    assert "Newark Depot" in table and "America/New_York" in table


def test_a_site_update_changes_only_what_is_given(agency):
    agency("locations", "create", "--account", "1", "--name", "Leeds", "--timezone",
           "Europe/London", "--city", "Leeds")
    updated = one_json(agency("locations", "update", "1", "--account", "1", "--timezone",
                              "Europe/Dublin", "--max-backdate-hours", "36", "--inactive",
                              "--json"))
    assert updated["timezone"] == "Europe/Dublin" and updated["active"] is False
    assert updated["settings"]["max_backdate_hours"] == 36
    assert updated["name"] == "Leeds" and updated["city"] == "Leeds"
    text = agency("locations", "update", "1", "--account", "1", "--name", "Leeds North").stdout
    assert "Leeds North" in text and "Europe/Dublin" in text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("create", "--account", "1", "--name", "X", "--timezone", "BST"), "timezone"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC+1"), "timezone"),
        (("create", "--account", "1", "--name", "X", "--timezone", "../etc"), "timezone"),
        (("create", "--account", "1", "--name", "X"), "--timezone"),
        (("create", "--account", "1", "--timezone", "UTC"), "--name"),
        (("create", "--account", "1", "--name", " ", "--timezone", "UTC"), "name"),
        (("create", "--account", "9", "--name", "X", "--timezone", "UTC"), "Account 9 not found"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--geofence-mode", "fence"), "settings.geofence_mode"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--geofence-mode", "block"), "latitude and longitude"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--latitude", "91", "--longitude", "0"), "latitude"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--latitude", "nan", "--longitude", "0"), "latitude"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--geofence-radius-m", "0"), "settings.geofence_radius_m"),
        (("create", "--account", "1", "--name", "X", "--timezone", "UTC",
          "--max-backdate-hours", "-1"), "settings.max_backdate_hours"),
        (("update", "1", "--account", "1", "--kiosk-language", "de"), "settings.kiosk_language"),
        (("update", "1", "--account", "1", "--capacity", "lots"), "--capacity"),
        (("update", "1", "--account", "1"), "Nothing to change"),
        (("update", "1", "--account", "2", "--name", "Mine now"), "Location 1 not found"),
        (("update", "77", "--account", "1", "--name", "Ghost"), "Location 77 not found"),
    ],
)
def test_bad_site_input_prints_one_error_line_and_exits_non_zero(agency, args, words):
    agency("locations", "create", "--account", "1", "--name", "Leeds", "--timezone",
           "Europe/London")
    assert words in one_error_line(agency("locations", *args, ok=False))
    (site,) = one_json(agency("locations", "list", "--account", "1", "--json"))["locations"]
    assert site["name"] == "Leeds" and site["timezone"] == "Europe/London"  # nothing changed


def test_a_refused_site_with_json_is_one_json_object(agency):
    result = agency("locations", "create", "--account", "1", "--name", "X", "--timezone",
                    "Mars/Olympus", "--json", ok=False)
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["error"] is True and body["code"] == "invalid"
    assert "timezone" in body["message"]
