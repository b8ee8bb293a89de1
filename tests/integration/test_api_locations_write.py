"""Creating and changing work sites over HTTP: POST and PATCH /locations (API.md, Locations)."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from api_tenants import issue, make_tenant

from tempclock.api.services import connectors
from tempclock.plugins.payroll_csv import PayrollCsvExport

PATH_STYLES = ["", ".php"]
NEW_SITE = {
    "name": "Gdańsk Port Hub",
    "address_line1": "ul. Kontenerowa 7",
    "city": "Gdańsk",
    "postcode": "80-601",
    "country": "pl",
    "latitude": 54.3988,
    "longitude": 18.6640,
    "timezone": "Europe/Warsaw",
    "capacity": 30,
    "settings": {"geofence_mode": "warn", "geofence_radius_m": 300,
                 "gps_accuracy_threshold": 50, "kiosk_language": "pl",
                 "max_backdate_hours": 48},
}


def problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["error"] is True
    if code is not None:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("style", PATH_STYLES)
def test_a_site_is_created_with_its_zone_and_settings_on_both_paths(client, style):
    response = client.post(f"/locations{style}", json=NEW_SITE)
    assert response.status_code == 201, response.text
    body = response.json()
    site = body["data"]
    assert body["message"] == f"Location {site['id']} created"
    assert site["timezone"] == "Europe/Warsaw"
    assert site["country"] == "PL"
    assert site["on_site"] == 0 and site["active"] is True
    assert site["settings"] == NEW_SITE["settings"]
    assert client.get(f"/locations{style}?id={site['id']}").json()["data"] == site


def test_a_site_created_gets_only_default_settings_it_was_not_given(client):
    site = client.post("/locations", json={"name": "Plain", "timezone": "UTC"}).json()["data"]
    assert site["settings"] == {"geofence_mode": "off", "geofence_radius_m": 200,
                                "gps_accuracy_threshold": 100, "kiosk_language": "en",
                                "max_backdate_hours": 12}


@pytest.mark.parametrize("how", ["query", "path", "php"])
def test_a_site_is_updated_by_query_id_path_id_and_php_path(client, tenant, how):
    url = {"query": f"/locations?id={tenant.site.id}", "path": f"/locations/{tenant.site.id}",
           "php": f"/locations.php?id={tenant.site.id}"}[how]
    response = client.patch(url, json={"city": "Wakefield",
                                       "settings": {"kiosk_language": "ro"}})
    assert response.status_code == 200, response.text
    site = response.json()["data"]
    assert site["city"] == "Wakefield"
    assert site["settings"]["kiosk_language"] == "ro"
    assert site["settings"]["geofence_mode"] == tenant.site.settings.geofence_mode  # untouched
    assert site["name"] == tenant.site.name


def test_creating_and_changing_a_site_are_events(client, tenant):
    site = client.post("/locations", json={"name": "Evented", "timezone": "Europe/Dublin"})
    site_id = site.json()["data"]["id"]
    client.patch(f"/locations/{site_id}", json={"capacity": 12})
    feed = [(e["event"], e["data"]["id"]) for e in client.get("/events?limit=100").json()["data"]
            if e["event"].startswith("location_")]
    assert ("location_created", site_id) in feed
    assert ("location_updated", site_id) in feed


@pytest.mark.parametrize("zone", ["BST", "UTC+1", "Mars/Olympus", "../etc", "../../etc/passwd",
                                  "europe/london", "localtime", "", " Europe/London"])
def test_a_time_zone_that_is_not_an_iana_name_is_refused_naming_the_field(client, tenant, zone):
    created = client.post("/locations", json={"name": "Odd", "timezone": zone})
    assert "timezone" in problem(created, 400)["message"]
    changed = client.patch(f"/locations/{tenant.site.id}", json={"timezone": zone})
    assert "timezone" in problem(changed, 400)["message"]


@pytest.mark.parametrize(("body", "field"), [
    ({"timezone": "Europe/London"}, "name"),
    ({"name": "No zone"}, "timezone"),
    ({"name": " ", "timezone": "Europe/London"}, "name"),
    ({"name": "X", "timezone": "Europe/London", "id": 5}, "id"),
    ({"name": "X", "timezone": "Europe/London", "on_site": 3}, "on_site"),
    ({"name": "X", "timezone": "Europe/London", "created_at": "2026-01-01T00:00:00Z"},
     "created_at"),
    ({"name": "X", "timezone": "Europe/London", "updated_at": "2026-01-01T00:00:00Z"},
     "updated_at"),
    ({"name": "X", "timezone": "Europe/London", "account": 1}, "account"),
    ({"name": "X", "timezone": "Europe/London", "latitude": 91, "longitude": 0}, "latitude"),
    ({"name": "X", "timezone": "Europe/London", "latitude": 0, "longitude": -181}, "longitude"),
    ({"name": "X", "timezone": "Europe/London", "latitude": 53.1}, "latitude"),
    ({"name": "X", "timezone": "Europe/London", "country": "GBR"}, "country"),
    ({"name": "X", "timezone": "Europe/London", "capacity": -1}, "capacity"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"geofence_mode": "strict"}},
     "settings.geofence_mode"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"geofence_mode": "block"}},
     "settings.geofence_mode"),  # a fence needs a centre
    ({"name": "X", "timezone": "Europe/London", "settings": {"geofence_radius_m": 0}},
     "settings.geofence_radius_m"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"geofence_radius_m": 10**9}},
     "settings.geofence_radius_m"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"gps_accuracy_threshold": -5}},
     "settings.gps_accuracy_threshold"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"kiosk_language": "de"}},
     "settings.kiosk_language"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"max_backdate_hours": -1}},
     "settings.max_backdate_hours"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"max_backdate_hours": 10**6}},
     "settings.max_backdate_hours"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"max_backdate_hours": "many"}},
     "settings.max_backdate_hours"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"max_backdate_hours": 1.5}},
     "settings.max_backdate_hours"),
    ({"name": "X", "timezone": "Europe/London", "settings": {"colour": "red"}},
     "settings.colour"),
    ({"name": "X", "timezone": "Europe/London", "settings": None}, "settings"),
])
def test_a_bad_site_is_refused_naming_the_field_and_nothing_is_stored(client, body, field):
    before = client.get("/locations").json()["pagination"]["total"]
    refused = problem(client.post("/locations", json=body), 400)
    assert field in refused["message"]
    assert client.get("/locations").json()["pagination"]["total"] == before


@pytest.mark.parametrize(("body", "field"), [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"timezone": None}, "timezone"),
    ({"id": 99}, "id"),
    ({"on_site": 0}, "on_site"),
    ({"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
    ({"latitude": None}, "latitude"),  # half a centre
    ({"settings": {"max_backdate_hours": 24 * 365}}, "settings.max_backdate_hours"),
    ({"settings": {"kiosk_language": "fr"}}, "settings.kiosk_language"),
])
def test_a_bad_change_is_refused_and_the_site_stays_as_it_was(client, tenant, body, field):
    before = client.get(f"/locations/{tenant.site.id}").json()["data"]
    refused = problem(client.patch(f"/locations/{tenant.site.id}", json=body), 400)
    assert field in refused["message"]
    assert client.get(f"/locations/{tenant.site.id}").json()["data"] == before


@pytest.mark.parametrize("ident", ["0", "-1", str(2**63), "abc"])
def test_a_change_to_a_site_id_that_cannot_exist_is_a_client_error(client, ident):
    response = client.patch(f"/locations?id={ident}", json={"name": "Nowhere"})
    assert response.status_code in (400, 404), response.text


def test_another_accounts_site_is_not_found_and_not_changed(api, client):
    other = make_tenant()
    for url in (f"/locations/{other.site.id}", f"/locations?id={other.site.id}",
                f"/locations.php?id={other.site.id}"):
        problem(client.patch(url, json={"name": "Taken over"}), 404, "not_found")
    with api.client(other.key) as c:
        assert c.get(f"/locations/{other.site.id}").json()["data"]["name"] == other.site.name
    problem(client.patch("/locations/999999999", json={"name": "Ghost"}), 404, "not_found")


def test_a_key_without_locations_write_is_forbidden_and_told_which(api, tenant):
    key, _ = issue(tenant.account_id, scopes=["locations:read"])
    with api.client(key) as c:
        body = problem(c.post("/locations", json=NEW_SITE), 403, "scope_missing")
        assert "locations:write" in body["message"]
        problem(c.patch(f"/locations/{tenant.site.id}", json={"name": "X"}), 403,
                "scope_missing")
        problem(c.patch(f"/locations.php?id={tenant.site.id}", json={"name": "X"}), 403,
                "scope_missing")
    writer, _ = issue(tenant.account_id, scopes=["locations:write"])
    with api.client(writer) as c:
        assert c.post("/locations", json=NEW_SITE).status_code == 201


def test_a_longer_backdating_window_set_over_the_api_is_honoured_by_clock(client, tenant):
    backdated = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)).replace(microsecond=0)
    clock_in = {"worker_id": tenant.worker.id, "action": "in", "location_id": tenant.site.id,
                "timestamp": backdated.isoformat().replace("+00:00", "Z")}
    refused = problem(client.post("/clock", json=clock_in), 400)
    assert "12 hours" in refused["message"]
    changed = client.patch(f"/locations/{tenant.site.id}",
                           json={"timezone": "America/New_York",
                                 "settings": {"max_backdate_hours": 36}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["data"]["timezone"] == "America/New_York"
    response = client.post("/clock", json=clock_in)
    assert response.status_code == 201, response.text
    entry = response.json()["data"]
    assert entry["clock_in"] == clock_in["timestamp"]
    assert entry["work_date"] == str(backdated.astimezone(ZoneInfo("America/New_York")).date())


def test_the_openapi_document_shows_the_location_writes(client):
    document = client.get("/openapi.json").json()
    operations = {op["operationId"] for path in document["paths"].values()
                  for op in path.values() if isinstance(op, dict) and "operationId" in op}
    assert {"create_location", "create_location_php", "update_location",
            "update_location_php", "update_location_by_path"} <= operations
    schemas = document["components"]["schemas"]
    create = next(s for name, s in schemas.items() if name.endswith("LocationCreate"))
    assert set(create["required"]) == {"name", "timezone"}


def test_the_openapi_document_names_the_scope_each_location_operation_needs(client):
    document = client.get("/openapi.json").json()
    needs = {op["operationId"]: op["security"] for path in document["paths"].values()
             for op in path.values() if isinstance(op, dict) and "operationId" in op}
    assert needs["create_location"] == [{"bearer": ["locations:write"]}]
    assert needs["update_location_by_path"] == [{"bearer": ["locations:write"]}]
    assert needs["list_locations"] == [{"bearer": ["locations:read"]}]


def test_a_retried_create_with_the_same_idempotency_key_makes_one_site(client):
    headers = {"Idempotency-Key": "site-create-1"}
    first = client.post("/locations", json=NEW_SITE, headers=headers)
    again = client.post("/locations", json=NEW_SITE, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert again.headers["idempotent-replayed"] == "true"


def late_entry(client, tenant) -> dict:
    """A manual entry from 20:00 to 23:30 UTC on 3 March 2026: 3 March in London, 4 in Tokyo."""
    response = client.post("/timesheets", json={
        "worker_id": tenant.worker.id, "location_id": tenant.site.id,
        "clock_in": "2026-03-03T20:00:00Z", "clock_out": "2026-03-03T23:30:00Z",
        "reason": "Paper timesheet"})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_a_new_time_zone_moves_the_sites_entries_to_their_new_local_dates(client, tenant):
    entry = late_entry(client, tenant)
    assert entry["work_date"] == "2026-03-03"
    time.sleep(1.1)  # `updated_since` is read to the second
    since = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    changed = client.patch(f"/locations/{tenant.site.id}", json={"timezone": "Asia/Tokyo"})
    assert changed.status_code == 200, changed.text
    moved = client.get(f"/timesheets/{entry['id']}").json()["data"]
    assert moved["work_date"] == "2026-03-04"
    synced = client.get("/timesheets", params={"updated_since": since, "entry_filter": "all"})
    assert [e["id"] for e in synced.json()["data"]] == [entry["id"]], synced.text


def test_a_new_time_zone_that_would_move_exported_time_is_refused_as_locked(client, tenant,
                                                                           tmp_path):
    entry = late_entry(client, tenant)
    run = connectors.run_connector(tenant.account_id, PayrollCsvExport(), overrides={
        "period": "custom", "date_from": "2026-03-02", "date_to": "2026-03-03",
        "output_dir": str(tmp_path)})
    assert run.status == "succeeded", run.message
    refused = problem(client.patch(f"/locations/{tenant.site.id}",
                                   json={"timezone": "Asia/Tokyo"}), 409, "period_locked")
    assert "already exported to payroll" in refused["message"]
    assert client.get(f"/locations/{tenant.site.id}").json()["data"]["timezone"] == \
        "Europe/London"
    assert client.get(f"/timesheets/{entry['id']}").json()["data"]["work_date"] == "2026-03-03"
