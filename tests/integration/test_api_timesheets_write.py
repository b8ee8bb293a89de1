"""POST and PATCH /timesheets over HTTP: manual entries and corrections, audited and locked."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from api_tenants import issue, make_tenant

from tempclock.api.dispatcher import Dispatcher
from tempclock.api.services import connectors, timesheets, webhooks, workers
from tempclock.plugins.payroll_csv import PayrollCsvExport
from tests.conftest import allow_internal_targets

FIRST, LAST = dt.date(2026, 3, 2), dt.date(2026, 3, 8)
REASON = "Kiosk was offline overnight; the site manager confirmed the hours"


def iso(day: int, hour: int, minute: int = 0, month: int = 3) -> str:
    return f"2026-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00Z"


def night_shift(tenant, day: int = 3, **fields) -> dict:
    body = {"worker_id": tenant.worker.id, "location_id": tenant.site.id,
            "clock_in": iso(day, 22), "clock_out": iso(day + 1, 6),
            "breaks": [{"start": iso(day + 1, 2), "end": iso(day + 1, 2, 30)}],
            "notes": "Night shift", "reason": REASON}
    return {**body, **fields}


def added(client, tenant, **fields) -> dict:
    response = client.post("/timesheets", json=night_shift(tenant, **fields))
    assert response.status_code == 201, response.text
    return response.json()["data"]


def test_a_night_shift_older_than_the_backdating_limit_is_added_and_listed_as_manual(
        client, tenant):
    refused = client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in",
                                          "timestamp": iso(3, 22)})
    assert refused.status_code == 400  # what integrators could not do before
    response = client.post("/timesheets.php", json=night_shift(tenant))
    assert response.status_code == 201, response.text
    entry = response.json()["data"]
    assert (entry["source"], entry["status"], entry["work_date"], entry["total_hours"]) == (
        "manual", "completed", "2026-03-03", 7.5)
    assert entry["clock_in"] == iso(3, 22) and entry["breaks"] == [
        {"start": iso(4, 2), "end": iso(4, 2, 30)}]
    listed = client.get("/timesheets", params={"date_from": "2026-03-03",
                                               "date_to": "2026-03-03"}).json()["data"]
    assert [(e["id"], e["source"]) for e in listed] == [(entry["id"], "manual")]
    for path in (f"/timesheets?id={entry['id']}", f"/timesheets/{entry['id']}"):
        (created,) = client.get(path).json()["data"]["edits"]
        assert created["action"] == "created" and created["reason"] == REASON
        assert created["actor"] == {"type": "api_key", "name": "Integration",
                                    "key_id": tenant.key_id}
        assert created["after"]["clock_in"] == iso(3, 22)
        assert created["after"]["breaks"] == [{"start": iso(4, 2), "end": iso(4, 2, 30)}]
        assert created["before"]["breaks"] is None


@pytest.mark.parametrize("body, field", [
    ({"reason": None}, "reason"),
    ({"reason": "   "}, "reason"),
    ({"reason": "\u200b\u200b"}, "reason"),  # invisible: zero-width spaces
    ({"reason": "\u3000\n\t\u2060\ufeff"}, "reason"),
    ({"reason": "\u200f\u202e"}, "reason"),  # direction marks only
    ({"clock_out": iso(3, 21)}, "clock_out"),
    ({"breaks": [{"start": iso(3, 20), "end": iso(3, 23)}]}, "breaks"),
    ({"id": 5}, "id"),
    ({"source": "kiosk"}, "source"),
    ({"breaks": [{"start": iso(4, 1), "end": iso(4, 2), "paid": True}]}, "breaks[0].paid"),
    ({"clock_in": "1926-03-03T22:00:00Z", "breaks": []}, "clock_out"),  # a mistyped year
    ({"clock_in": iso(2, 22), "breaks": []}, "clock_out"),  # 32 hours
    ({"breaks": [{"start": iso(3, 22, n), "end": iso(3, 22, n) .replace(":00Z", ":30Z")}
                 for n in range(30)]}, "breaks"),
])
def test_a_bad_manual_entry_is_a_400_naming_the_field(client, tenant, body, field):
    request = night_shift(tenant, **body)
    if body.get("reason", "") is None:
        del request["reason"]
    response = client.post("/timesheets", json=request)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["field"] == field and problem["status"] == 400, problem
    assert client.get("/timesheets?entry_filter=all").json()["data"] == []


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "0001-01-01T00:00:00", "2026-02-30T10:00:00Z",
                                    "2026-03-03T22:00:00+25:00", "yesterday"])
def test_absurd_times_are_a_400_never_a_500(client, tenant, moment):
    for body in (night_shift(tenant, clock_in=moment, breaks=[]),
                 night_shift(tenant, clock_out=moment, breaks=[])):
        response = client.post("/timesheets", json=body)
        assert response.status_code == 400, (moment, response.text)
    entry = added(client, tenant, day=10)
    for field in ("clock_in", "clock_out"):
        response = client.patch(f"/timesheets/{entry['id']}", json={field: moment,
                                                                     "reason": "typo"})
        assert response.status_code == 400, (field, moment, response.text)


def test_an_open_entrys_start_cannot_be_moved_back_beyond_a_day(client, tenant):
    opened = client.post("/clock", json={"worker_id": tenant.worker.id, "action": "in"})
    entry_id = opened.json()["data"]["id"]
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = client.patch(f"/timesheets/{entry_id}", json={"clock_in": long_ago,
                                                            "reason": "forgot"})
    assert response.status_code == 400 and response.json()["field"] == "clock_in"
    earlier = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    moved = client.patch(f"/timesheets/{entry_id}", json={"clock_in": earlier,
                                                          "reason": "came in early"})
    assert moved.status_code == 200 and moved.json()["data"]["clock_in"] == earlier
    assert client.patch(f"/timesheets/{entry_id}", json={
        "clock_out": earlier, "reason": "x"}).json()["code"] == "entry_open"


def test_future_times_and_inactive_or_unknown_workers_are_refused(client, tenant):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = client.post("/timesheets", json=night_shift(tenant, clock_out=soon, breaks=[]))
    assert future.status_code == 400 and "future" in future.json()["message"]
    gone = workers.create_worker(tenant.account_id, workers.WorkerCreate(
        first_name="Bob", last_name="Gone", active=False))
    inactive = client.post("/timesheets", json=night_shift(tenant, worker_id=gone.id))
    assert inactive.status_code == 409 and inactive.json()["code"] == "worker_inactive"
    missing = client.post("/timesheets", json=night_shift(tenant, location_id=2**40))
    assert missing.status_code == 404


def test_an_overlapping_entry_is_a_409_naming_the_other(client, tenant):
    first = added(client, tenant)
    clash = client.post("/timesheets", json=night_shift(tenant, clock_in=iso(4, 5),
                                                        clock_out=iso(4, 9), breaks=[]))
    assert clash.status_code == 409
    assert (clash.json()["code"], clash.json()["entry_id"]) == ("entry_overlap", first["id"])
    second = added(client, tenant, day=5)
    moved = client.patch(f"/timesheets/{second['id']}", json={
        "clock_in": iso(4, 5), "clock_out": iso(4, 9), "breaks": [], "reason": "wrong night"})
    assert moved.status_code == 409 and moved.json()["code"] == "entry_overlap"


@pytest.mark.parametrize("path", ["/timesheets/{id}", "/timesheets?id={id}",
                                  "/timesheets.php?id={id}"])
def test_a_correction_is_listed_with_its_actor_before_after_and_reason(client, tenant, path):
    entry = added(client, tenant)
    response = client.patch(path.format(id=entry["id"]), json={
        "clock_out": iso(4, 7), "notes": "Stayed for the handover", "reason": "Handover ran late"})
    assert response.status_code == 200, response.text
    fixed = response.json()["data"]
    assert fixed["clock_out"] == iso(4, 7) and fixed["total_hours"] == 8.5
    edits = client.get(f"/timesheets?id={entry['id']}").json()["data"]["edits"]
    assert [e["action"] for e in edits] == ["created", "corrected"]
    correction = edits[1]
    assert correction["actor"] == {"type": "api_key", "name": "Integration",
                                   "key_id": tenant.key_id}
    assert correction["before"] == {"clock_out": iso(4, 6), "notes": "Night shift"}
    assert correction["after"] == {"clock_out": iso(4, 7), "notes": "Stayed for the handover"}
    assert correction["reason"] == "Handover ran late"
    assert correction["created_at"].endswith("Z")


def test_a_correction_needs_a_reason_and_refuses_unknown_fields(client, tenant):
    entry = added(client, tenant)
    for body, code in [({"notes": "x"}, "missing_field"),
                       ({"notes": "x", "reason": ""}, "missing_field"),
                       ({"location_id": tenant.site.id, "reason": "x"}, "unknown_field"),
                       ({"status": "approved", "reason": "x"}, "unknown_field"),
                       ({"clock_in": None, "reason": "x"}, "invalid_field"),
                       ({"reason": "nothing else"}, "invalid")]:
        response = client.patch(f"/timesheets/{entry['id']}", json=body)
        assert (response.status_code, response.json()["code"]) == (400, code), body
    assert client.patch("/timesheets", json={"reason": "x"}).status_code == 400  # no id
    assert len(client.get(f"/timesheets/{entry['id']}").json()["data"]["edits"]) == 1


def test_an_approved_entry_is_locked(client, tenant):
    entry = added(client, tenant)
    timesheets.set_entry_status(tenant.account_id, entry["id"], "approved")
    response = client.patch(f"/timesheets?id={entry['id']}", json={"notes": "x", "reason": "y"})
    assert response.status_code == 409
    assert response.json()["code"] == "period_locked"
    assert "approved" in response.json()["message"]
    more = client.post("/timesheets", json=night_shift(tenant, clock_in=iso(3, 10),
                                                       clock_out=iso(3, 14), breaks=[]))
    assert more.status_code == 409 and more.json()["code"] == "period_locked"


def test_after_a_payroll_export_its_period_is_locked_and_the_rest_is_not(client, tenant,
                                                                         tmp_path):
    inside = added(client, tenant, day=3)
    run = connectors.run_connector(tenant.account_id, PayrollCsvExport(), overrides={
        "period": "custom", "date_from": FIRST.isoformat(), "date_to": LAST.isoformat(),
        "output_dir": str(tmp_path)})
    assert run.status == "succeeded"
    posted = client.post("/timesheets", json=night_shift(tenant, day=6))
    assert posted.status_code == 409 and posted.json()["code"] == "period_locked"
    assert "exported to payroll" in posted.json()["message"]
    patched = client.patch(f"/timesheets/{inside['id']}", json={"notes": "x", "reason": "y"})
    assert patched.status_code == 409 and patched.json()["code"] == "period_locked"
    outside = added(client, tenant, day=9)
    assert client.patch(f"/timesheets/{outside['id']}", json={
        "notes": "checked", "reason": "audit"}).status_code == 200
    moved_in = client.patch(f"/timesheets/{outside['id']}", json={
        "clock_in": iso(8, 22), "clock_out": iso(9, 6), "breaks": [], "reason": "wrong night"})
    assert moved_in.status_code == 409 and moved_in.json()["code"] == "period_locked"


def test_a_key_without_timesheets_write_is_refused_naming_the_scope(api, tenant):
    key, _ = issue(tenant.account_id, "Reader", scopes=["timesheets:read", "clock:write"])
    with api.client(key) as reader:
        for response in (reader.post("/timesheets", json=night_shift(tenant)),
                         reader.patch("/timesheets/1", json={"reason": "x"}),
                         reader.patch("/timesheets.php?id=1", json={"reason": "x"})):
            assert response.status_code == 403
            assert response.json()["code"] == "scope_missing"
            assert "timesheets:write" in response.json()["message"]
    writer, _ = issue(tenant.account_id, "Writer", scopes=["timesheets:write"])
    with api.client(writer) as client:
        assert client.post("/timesheets", json=night_shift(tenant)).status_code == 201


def test_another_accounts_entry_or_worker_is_a_404(api, client, tenant):
    other = make_tenant()
    with api.client(other.key) as theirs:
        their_entry = added(theirs, other)
    response = client.patch(f"/timesheets/{their_entry['id']}", json={"notes": "x",
                                                                     "reason": "y"})
    assert response.status_code == 404
    assert client.get(f"/timesheets?id={their_entry['id']}").status_code == 404
    posted = client.post("/timesheets", json=night_shift(tenant, worker_id=other.worker.id))
    assert posted.status_code == 404
    assert timesheets.get_entry(other.account_id, their_entry["id"]).notes == "Night shift"


def test_a_retried_post_with_the_same_idempotency_key_adds_one_entry(client, tenant):
    headers = {"Idempotency-Key": "night-2026-03-03"}
    first = client.post("/timesheets", json=night_shift(tenant), headers=headers)
    again = client.post("/timesheets", json=night_shift(tenant), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(client.get("/timesheets").json()["data"]) == 1
    other = client.post("/timesheets", json=night_shift(tenant, notes="changed"),
                        headers=headers)
    assert other.status_code == 400


def test_a_subscriber_to_timesheet_updated_receives_manual_entries_and_corrections(
        client, tenant, receiver):
    allow_internal_targets(tenant.account_id)  # the receiver is on this PC
    hook = webhooks.create_webhook(tenant.account_id, webhooks.WebhookCreate(
        url=f"{receiver.url}/tempclock", events=["timesheet_updated"]))
    everything = webhooks.create_webhook(tenant.account_id, webhooks.WebhookCreate(
        url=f"{receiver.url}/all", events=["*"]))
    entry = added(client, tenant)
    assert client.patch(f"/timesheets/{entry['id']}", json={
        "notes": "checked", "reason": "audit"}).status_code == 200
    dispatcher = Dispatcher(senders=2, send_timeout=5.0)
    deadline = time.monotonic() + 60
    try:
        while len(receiver.requests) < 4 and time.monotonic() < deadline:
            dispatcher.run_once()
            receiver.wait_for(4, timeout=1)
    finally:
        dispatcher.stop()
    by_path: dict[str, list[dict]] = {}
    for request in receiver.requests:
        by_path.setdefault(request["path"], []).append(json.loads(request["body"]))
    for path in ("/tempclock", "/all"):
        bodies = sorted(by_path[path], key=lambda body: body["id"])
        assert [b["event"] for b in bodies] == ["timesheet_updated"] * 2, path
        assert [b["data"]["id"] for b in bodies] == [entry["id"]] * 2
        assert [b["data"]["edit"]["action"] for b in bodies] == ["created", "corrected"]
        assert bodies[1]["data"]["edit"]["reason"] == "audit"
        assert bodies[1]["data"]["notes"] == "checked"
    assert {hook.id, everything.id} == {s.id for s in webhooks.list_webhooks(
        tenant.account_id).data}


def test_a_search_with_control_characters_is_a_400_on_every_store(client):
    # Found by the stateful fuzzer on PostgreSQL, which refuses NUL in a query (it was a 500).
    for term in ("a\x00b", "\x07"):
        response = client.get("/workers", params={"search": term})
        assert response.status_code == 400 and response.json()["field"] == "search", term
    assert client.get("/workers", params={"search": "  Nowak "}).json()["data"]


def test_simultaneous_overlapping_entries_for_one_worker_give_exactly_one(api, tenant):
    from concurrent.futures import ThreadPoolExecutor

    def post(n: int) -> int:
        with api.client(tenant.key) as client:
            shifted = night_shift(tenant, notes=f"attempt {n}")  # distinct bodies, same night
            return client.post("/timesheets", json=shifted).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(post, range(16)))
    assert statuses == [201] + [409] * 15
    assert len(timesheets.list_entries(tenant.account_id).data) == 1


# London's clocks went forward at 01:00 on 29 March 2026 and back at 02:00 on 25 October 2026.
@pytest.mark.parametrize("field, moment, code", [
    ("clock_in", "2026-03-29T01:30:00", "nonexistent_local_time"),
    ("clock_out", "2026-03-29T01:00:00", "nonexistent_local_time"),
    ("clock_out", "2026-10-25T01:30:00", "ambiguous_local_time"),
    ("clock_in", "2026-10-25T01:00:00", "ambiguous_local_time"),
])
def test_a_local_time_the_clocks_skip_or_show_twice_is_a_400_never_a_guess(
        client, tenant, field, moment, code):
    day = int(moment[8:10])
    month = int(moment[5:7])
    body = night_shift(tenant, breaks=[], clock_in=f"2026-{month:02d}-{day - 1}T22:00:00",
                       clock_out=f"2026-{month:02d}-{day}T06:00:00")
    response = client.post("/timesheets", json={**body, field: moment})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert (problem["field"], problem["code"]) == (field, code), problem
    assert "Europe/London" in problem["detail"] and "UTC offset" in problem["detail"]
    entry = client.post("/timesheets", json=body)
    assert entry.status_code == 201, entry.text
    patched = client.patch(f"/timesheets/{entry.json()['data']['id']}",
                           json={field: moment, "reason": "typo"})
    assert patched.status_code == 400 and patched.json()["code"] == code, patched.text


def test_a_local_time_on_a_clock_change_day_with_its_offset_is_taken_as_given(client, tenant):
    body = night_shift(tenant, breaks=[], clock_in="2026-10-24T22:00:00",
                       clock_out="2026-10-25T01:30:00+00:00")
    entry = client.post("/timesheets", json=body)
    assert entry.status_code == 201, entry.text
    assert entry.json()["data"]["total_hours"] == 4.5  # 22:00 BST to 01:30 GMT
