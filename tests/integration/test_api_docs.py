"""The OpenAPI 3.1 document and the offline docs page."""

from __future__ import annotations

import logging
import re

import httpx
import pytest

from tempclock.api.services import kiosk, workers

ENDPOINTS = ["workers", "timesheets", "clock", "locations", "shifts", "departments",
             "cost-codes", "webhooks", "on-site-now", "events"]


@pytest.fixture(scope="module")
def document(api):
    response = httpx.get(f"{api.url}/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_the_document_is_openapi_3_1_with_bearer_security(document):
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "tc_live_...",
        "description": "An API key issued by the admin."}
    assert {"bearer": []} in document["security"]


def test_every_endpoint_is_documented_on_both_paths(document):
    paths = document["paths"]
    for name in ENDPOINTS:
        assert f"/api/v1/{name}" in paths, name
        assert f"/api/v1/{name}.php" in paths, name
    assert "/api/v1/cost_codes.php" in paths
    for name in ("workers", "timesheets", "locations", "shifts", "departments", "cost-codes",
                 "webhooks"):
        assert any(re.fullmatch(rf"/api/v1/{name}/\{{\w+\}}", p) for p in paths), name


def test_every_operation_has_an_id_and_its_error_responses(document):
    seen = set()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation["operationId"] not in seen, (path, method)
            seen.add(operation["operationId"])
            for status in ("400", "401", "403", "429"):
                response = operation["responses"][status]
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (path, method, status)
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) >= {"status", "message", "type", "title", "detail", "code",
                                         "request_id"}


def test_filters_are_documented_as_parameters(document):
    listed = {p["name"] for p in document["paths"]["/api/v1/timesheets"]["get"]["parameters"]}
    assert listed >= {"id", "date_from", "date_to", "worker_id", "location_id", "department_id",
                      "cost_code_id", "status", "entry_filter", "updated_since", "after_id",
                      "limit", "offset"}
    clock = document["paths"]["/api/v1/clock"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in clock["parameters"]}
    assert {"200", "201", "404", "409"} <= set(clock["responses"])


def test_paging_parameters_state_the_bounds_the_server_enforces(document, client):
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["name"] in ("after_id", "offset"):
                assert parameter["schema"]["minimum"] == 0, (path, parameter)
    refused = client.get("/workers?after_id=-1")
    assert refused.status_code == 400 and refused.json()["parameter"] == "after_id"


def test_a_required_body_field_is_documented_as_not_null_and_refused_when_null(document,
                                                                            client, tenant):
    clock = document["components"]["schemas"]["ClockRequest"]
    assert {"worker_id", "action"} <= set(clock["required"])
    assert clock["properties"]["worker_id"] == {"type": "integer"}
    assert clock["properties"]["action"]["type"] == "string"
    refused = client.post("/clock", json={"worker_id": None, "action": "in"})
    assert refused.status_code == 400 and refused.json()["code"] == "missing_field"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "yesterday", "2026-13-01T00:00:00Z"])
def test_updated_since_takes_only_the_iso_time_the_document_states(document, client, value):
    parameter = next(p for p in document["paths"]["/api/v1/workers"]["get"]["parameters"]
                     if p["name"] == "updated_since")
    assert parameter["schema"]["format"] == "date-time"
    refused = client.get("/workers", params={"updated_since": value})
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == "invalid_parameter"
    assert refused.json()["parameter"] == "updated_since"
    assert client.get("/workers?updated_since=2026-03-01T08:00:00%2B01:00").status_code == 200


def test_the_docs_page_loads_everything_from_this_server(api):
    page = httpx.get(f"{api.url}/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "/api/v1/openapi.json" in page.text
    for source in sources:
        asset = httpx.get(f"{api.url}{source}")
        assert asset.status_code == 200, source
        assert len(asset.content) > 100


def test_an_unexpected_failure_is_a_500_logged_with_its_traceback_and_never_sent(
        client, tenant, monkeypatch, caplog):
    def broken(account_id, worker_id):
        raise RuntimeError("disk on fire at /srv/secret/path")

    monkeypatch.setattr(workers, "get_worker", broken)
    with caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
        response = client.get(f"/workers/{tenant.worker.id}")
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error" and body["status"] == 500
    assert "fire" not in response.text and "secret" not in response.text
    logged = [r for r in caplog.records if r.name == "tempclock.api.http"]
    assert logged and logged[0].exc_info is not None
    assert body["request_id"] in logged[0].getMessage()


def test_a_failure_logs_the_path_with_its_hidden_characters_escaped(api, monkeypatch, caplog):
    """The path of a request that failed went to the server's log as sent: a terminal
    escape in it (here a kiosk token) reached the console of `tempclock serve`."""
    def broken(token):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(kiosk, "site", broken)
    with caplog.at_level(logging.ERROR, logger="tempclock.api.http"):
        response = httpx.get(f"{api.url}/kiosk/%1b]0;pwned%07%e2%80%ae/site")
    assert response.status_code == 500
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "tempclock.api.http"]
    assert "\x1b" not in logged and "\u202e" not in logged and "\x07" not in logged
    assert "/kiosk/\\x1b]0;pwned\\x07\\u202e/site" in logged, logged


def test_every_operation_names_the_scope_its_key_needs(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            (requirement,) = operation["security"]
            (scope,) = requirement["bearer"]
            assert re.fullmatch(r"[a-z_]+:(read|write)", scope), (path, method, scope)
    assert document["paths"]["/api/v1/workers"]["get"]["security"] == [
        {"bearer": ["workers:read"]}]


@pytest.mark.parametrize("path", ["/api/v1/timesheets", "/api/v1/timesheets.php"])
def test_writing_time_after_the_fact_is_documented_with_its_bodies_and_scope(document, path):
    schemas = document["components"]["schemas"]

    def body(operation):
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    create = document["paths"][path]["post"]
    assert create["security"] == [{"bearer": ["timesheets:write"]}]
    assert {"201", "400", "403", "404", "409"} <= set(create["responses"])
    assert "Idempotency-Key" in {p["name"] for p in create["parameters"]}
    assert "period_locked" in create["description"]
    entry = body(create)
    assert set(entry["required"]) == {"worker_id", "location_id", "clock_in", "clock_out",
                                      "reason"}
    assert entry["additionalProperties"] is False
    breaks = schemas[entry["properties"]["breaks"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert breaks["additionalProperties"] is False and set(breaks["required"]) == {"start", "end"}
    for correct in (document["paths"][path]["patch"],
                    document["paths"]["/api/v1/timesheets/{entry_id}"]["patch"]):
        assert correct["security"] == [{"bearer": ["timesheets:write"]}]
        assert {"200", "400", "403", "404", "409"} <= set(correct["responses"])
        correction = body(correct)
        assert correction["required"] == ["reason"]
        assert correction["additionalProperties"] is False
        assert "location_id" not in correction["properties"]
    one = document["paths"]["/api/v1/timesheets/{entry_id}"]["get"]["responses"]["200"]
    detail = one["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert "edits" in schemas[schemas[detail]["properties"]["data"]["$ref"].rsplit("/", 1)[1]][
        "properties"]


@pytest.mark.parametrize("name", ["a%00b", "swagger-ui.css%00.png", "a" * 5000,
                                  "..%2f..%2fapi%2fconfig.py", "%2e%2e", "missing.js"])
def test_a_docs_asset_no_file_has_is_a_404_problem_never_a_500(api, name):
    """Anyone (no key needed) got a 500 for a NUL in an asset's name ('embedded null byte')
    or a name too long for the file system."""
    response = httpx.get(f"{api.url}/docs/assets/{name}")
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("asset", ["swagger-ui.css", "swagger-ui-bundle.js",
                                   "swagger-ui-standalone-preset.js", "favicon-32x32.png"])
def test_the_docs_page_assets_are_served(api, asset):
    for method in ("GET", "HEAD"):
        response = httpx.request(method, f"{api.url}/docs/assets/{asset}")
        assert response.status_code == 200, (method, response.text)
        assert int(response.headers["content-length"]) > 100
