"""Every error status answers the documented body, as application/problem+json."""

from __future__ import annotations

import httpx

FIELDS = {"error", "status", "message", "type", "title", "detail", "code", "request_id"}


def check(response: httpx.Response, status: int, code: str, title: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= FIELDS
    assert body["error"] is True and body["status"] == status
    assert body["code"] == code and body["title"] == title
    assert body["type"] == "urn:tempclock:problem:" + code.replace("_", "-")
    assert body["detail"] == body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


def test_a_bad_parameter_is_a_400_naming_it(client):
    body = check(client.get("/workers?location_id=three"), 400, "invalid_parameter",
                 "Bad Request")
    assert "location_id" in body["message"]
    body = check(client.get("/shifts?date_to=10/03/2026"), 400, "invalid_parameter",
                 "Bad Request")
    assert "date_to" in body["message"]
    body = check(client.get("/workers?active=maybe"), 400, "invalid_parameter", "Bad Request")
    assert "active" in body["message"]


def test_out_of_range_paging_is_a_400_never_clamped(client):
    for query in ("limit=101", "limit=0", "offset=-5"):
        check(client.get(f"/workers?{query}"), 400, "invalid_parameter", "Bad Request")


def test_malformed_json_is_a_400(client):
    check(client.post("/workers", content=b'{"first_name": "A",',
                      headers={"content-type": "application/json"}),
          400, "malformed_json", "Bad Request")


def test_unknown_body_fields_are_refused_so_nothing_can_be_mass_assigned(client):
    for field in ("id", "account", "account_id", "created_at"):
        body = check(client.post("/workers", json={"first_name": "A", "last_name": "B",
                                                    field: 1}),
                     400, "unknown_field", "Bad Request")
        assert body["message"] == f"Unknown field: {field}"
    check(client.post("/clock", json={"worker_id": 1, "action": "in", "status": "approved"}),
          400, "unknown_field", "Bad Request")


def test_a_missing_required_field_is_named(client):
    body = check(client.post("/workers", json={"first_name": "A"}), 400, "missing_field",
                 "Bad Request")
    assert body["message"] == "Missing required field: last_name"
    body = check(client.post("/workers", json={"first_name": "A", "last_name": 7}),
                 400, "invalid_field", "Bad Request")
    assert "last_name" in body["message"]


def test_an_unknown_id_is_a_404(client):
    check(client.get("/workers/987654"), 404, "not_found", "Not Found")
    check(client.get("/workers.php?id=987654"), 404, "not_found", "Not Found")


def test_an_unknown_path_is_a_404(client):
    check(client.get("/payroll-runs"), 404, "not_found", "Not Found")
    check(client.get("/workers/not-a-number"), 404, "not_found", "Not Found")


def test_a_wrong_method_is_a_405(client):
    check(client.delete("/workers"), 405, "method_not_allowed", "Method Not Allowed")
    check(client.delete("/timesheets.php"), 405, "method_not_allowed",
          "Method Not Allowed")


def test_a_state_conflict_is_a_409_with_its_details(client, tenant):
    client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    body = check(client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"}),
                 409, "already_clocked_in", "Conflict")
    assert isinstance(body["entry_id"], int)


def test_a_body_over_one_mebibyte_is_a_413(client):
    huge = b'{"first_name": "' + b"x" * (1024 * 1024) + b'", "last_name": "B"}'
    body = check(client.post("/workers", content=huge,
                             headers={"content-type": "application/json"}),
                 413, "body_too_large", "Request Entity Too Large")
    assert body["message"] == "Request body too large (at most 1 MiB)"


def test_a_number_too_large_for_the_store_is_a_400(client):
    check(client.get(f"/workers/{2**70}"), 400, "out_of_range", "Bad Request")


def test_every_response_carries_a_request_id(api, client):
    responses = [client.get("/workers"), client.get("/nope"),
                 httpx.get(f"{api.url}/docs"), httpx.get(f"{api.url}/api/v1/openapi.json"),
                 httpx.get(f"{api.url}/api/v1/workers")]
    request_ids = [r.headers["x-request-id"] for r in responses]
    assert all(len(i) == 32 for i in request_ids)
    assert len(set(request_ids)) == len(request_ids)
