"""Account isolation: a key sees only its own account; another account's ids are plain 404s."""

from __future__ import annotations

import datetime as dt

import pytest
import snapshots
from api_tenants import make_tenant

from tempclock.api.services import clocking, cost_codes, departments, shifts, webhooks


@pytest.fixture(scope="module")
def rival(api):
    """Account B with one of everything."""
    b = make_tenant("Rival Recruitment")
    a = b.account_id
    dept = departments.create_department(a, departments.DepartmentCreate(name="Drivers"))
    code = cost_codes.create_cost_code(a, cost_codes.CostCodeCreate(code="DRV", name="Driving"))
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    entry = clocking.record_entry(a, b.worker.id, b.site.id, start, start + dt.timedelta(hours=1))
    shift = shifts.create_shift(a, shifts.ShiftCreate(
        location_id=b.site.id, start=start + dt.timedelta(days=1),
        end=start + dt.timedelta(days=1, hours=4)))
    hook = webhooks.create_webhook(a, webhooks.WebhookCreate(url="https://rival.example/hook"))
    clocking.clock_in(a, b.worker.id)
    return {"tenant": b, "worker": b.worker.id, "location": b.site.id, "department": dept.id,
            "cost_code": code.id, "entry": entry.id, "shift": shift.id, "webhook": hook.id}


def reads(r):
    return [
        ("GET", f"/workers?id={r['worker']}", None),
        ("GET", f"/workers.php?id={r['worker']}", None),
        ("GET", f"/workers/{r['worker']}", None),
        ("PATCH", f"/workers?id={r['worker']}", {"role": "spy"}),
        ("PATCH", f"/workers/{r['worker']}", {"role": "spy"}),
        ("GET", f"/timesheets?id={r['entry']}", None),
        ("GET", f"/timesheets/{r['entry']}", None),
        ("GET", f"/locations?id={r['location']}", None),
        ("GET", f"/locations/{r['location']}", None),
        ("GET", f"/shifts?id={r['shift']}", None),
        ("GET", f"/shifts/{r['shift']}", None),
        ("GET", f"/departments?id={r['department']}", None),
        ("GET", f"/departments/{r['department']}", None),
        ("GET", f"/cost-codes?id={r['cost_code']}", None),
        ("GET", f"/cost_codes.php?id={r['cost_code']}", None),
        ("GET", f"/cost-codes/{r['cost_code']}", None),
        ("GET", f"/webhooks?id={r['webhook']}", None),
        ("GET", f"/webhooks/{r['webhook']}", None),
        ("PUT", f"/webhooks?id={r['webhook']}", {"active": False}),
        ("PUT", f"/webhooks/{r['webhook']}", {"active": False}),
        ("POST", f"/webhooks/{r['webhook']}/ping", None),
        ("DELETE", f"/webhooks?id={r['webhook']}", None),
        ("DELETE", f"/webhooks/{r['webhook']}", None),
        ("POST", "/clock", {"worker_id": r["worker"], "action": "in"}),
        ("POST", "/clock", {"worker_id": r["worker"], "action": "out"}),
        ("POST", "/clock", {"worker_id": r["worker"], "action": "break_start"}),
    ]


def test_another_accounts_ids_are_not_found_on_every_endpoint(api, rival, tenant, client):
    for method, path, body in reads(rival):
        response = client.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["code"] == "not_found"
    # ...including ids given inside a body.
    r = rival
    for path, body in (
        ("/clock", {"worker_id": tenant.worker.id, "action": "in", "location_id": r["location"]}),
        ("/workers", {"first_name": "A", "last_name": "B", "location_id": r["location"]}),
        ("/workers", {"first_name": "A", "last_name": "B", "department_id": r["department"]}),
        ("/shifts", {"location_id": r["location"], "start": "2030-01-01T08:00:00Z",
                     "end": "2030-01-01T12:00:00Z"}),
        ("/shifts", {"location_id": tenant.site.id, "worker_id": r["worker"],
                     "start": "2030-01-01T08:00:00Z", "end": "2030-01-01T12:00:00Z"}),
    ):
        assert client.post(path, json=body).status_code == 404, (path, body)


def test_the_rival_data_is_untouched(api, rival, client):
    before = snapshots.account_rows(rival["tenant"].account_id)
    for method, path, body in reads(rival):
        client.request(method, path, json=body)
    after = snapshots.account_rows(rival["tenant"].account_id)
    assert {table for table in before if before[table] != after[table]} == set()
    b = rival["tenant"]
    with api.client(b.key) as own:
        assert own.get(f"/webhooks/{rival['webhook']}").json()["data"]["active"] is True
        assert own.get(f"/workers/{rival['worker']}").json()["data"]["role"] is None


def test_lists_and_feeds_show_only_the_keys_account(api, rival, tenant, client):
    own = {
        "/workers": [tenant.worker.id],
        "/locations": [tenant.site.id],
        "/departments": [],
        "/cost-codes": [],
        "/shifts": [],
        "/timesheets?entry_filter=all": [],
        "/webhooks": [],
    }
    for path, expected in own.items():
        assert [x["id"] for x in client.get(path).json()["data"]] == expected, path
    assert client.get(f"/workers?location_id={rival['location']}").json()["data"] == []
    assert client.get(f"/timesheets?worker_id={rival['worker']}&entry_filter=all"
                      ).json()["data"] == []
    assert client.get(f"/on-site-now?location_id={rival['location']}"
                      ).json()["data"]["sites"] == []
    assert all(s["location_id"] == tenant.site.id
               for s in client.get("/on-site-now").json()["data"]["sites"])
    events = client.get("/events").json()["data"]
    assert events and all(e["data"].get("id") != rival["worker"] or e["event"] != "clock_in"
                          for e in events)
    with api.client(rival["tenant"].key) as theirs:
        their_events = {e["id"] for e in theirs.get("/events").json()["data"]}
    assert their_events.isdisjoint(e["id"] for e in events)
