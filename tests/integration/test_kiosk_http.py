"""The kiosk over HTTP, against a real server on loopback: punches, refusals, and a token
that opens its own site's clocking and nothing else."""

from __future__ import annotations

import codecs
import datetime as dt
import time
from importlib import resources

import httpx
import pytest
from api_tenants import make_tenant

from tempclock.api.http.gate import PUBLIC_PATHS
from tempclock.api.http.kiosk import ASSETS, create_kiosk_app
from tempclock.api.server import ServerThread
from tempclock.api.services import api_logs, kiosk, pins
from tempclock.api.store.models import TimeEntry

PAGE_INSTALLED = (resources.files("tempclock.resources") / "kiosk" / "index.html").is_file()


@pytest.fixture(scope="module")
def kiosk_listener(api):
    """The kiosk listener's app (`tempclock serve --kiosk-host`) on loopback, over the
    module's store: it answers punches at its edge, not through Litestar's routes."""
    listener = ServerThread(create_kiosk_app()).start()
    yield listener
    listener.stop()


@pytest.fixture(params=["api listener", "kiosk listener"])
def booth(request, api, tenant):
    """The tenant's site with a kiosk link, and its worker's PIN; its URL on the API's
    listener and on the kiosk listener (each test runs against both)."""
    listener = api if request.param == "api listener" else request.getfixturevalue(
        "kiosk_listener")
    link = kiosk.create_link(tenant.account_id, tenant.site.id, listener.url)
    pins.set_pin(tenant.account_id, tenant.worker.id, "2468")
    return link.url


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def test_a_pin_clocks_the_worker_in_and_the_entry_is_visible_through_the_api(
        api, tenant, booth, client):
    punched = httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_in"})
    assert punched.status_code == 200, punched.text
    body = punched.json()
    assert body["first_name"] == "Ann" and body["action"] == "clock_in"
    assert body["offline"] is False and body["language"] == "en"
    assert punched.headers["referrer-policy"] == "no-referrer"
    assert punched.headers["cache-control"] == "no-store"
    (entry,) = client.get("/timesheets", params={"entry_filter": "active",
                                                 "worker_id": tenant.worker.id}).json()["data"]
    assert entry["source"] == "kiosk" and entry["location_id"] == tenant.site.id
    assert entry["clock_in"].startswith(body["at"][:16])


def test_the_site_shows_its_name_zone_clock_and_geofence(booth, tenant):
    site = httpx.get(f"{booth}/site").json()
    assert site["name"] == tenant.site.name and site["time_zone"] == "Europe/London"
    assert site["geofence"] == "off"
    now = dt.datetime.fromisoformat(site["now"].replace("Z", "+00:00"))
    assert abs((now - dt.datetime.now(dt.UTC)).total_seconds()) < 120


def test_a_queued_punch_sent_twice_is_recorded_once_as_kiosk_offline(booth, tenant):
    made = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)).isoformat()
    body = {"pin": "2468", "action": "clock_in", "device_time": made, "idempotency_key": "q1"}
    first, second = (httpx.post(f"{booth}/punch", json=body) for _ in range(2))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["offline"] is True
    (entry,) = TimeEntry.select().where(TimeEntry.worker == tenant.worker.id)
    assert entry.source == "kiosk_offline"


def test_a_queued_punch_key_sent_again_for_another_punch_is_refused_not_answered_as_done(
        booth, tenant):
    # The device drops a punch from its queue once it is answered 200: answering a clock-out
    # with the clock-in its key was first used for would lose the clock-out without a word.
    made = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30)
    first = {"pin": "2468", "action": "clock_in", "device_time": made.isoformat(),
             "idempotency_key": "q1"}
    assert httpx.post(f"{booth}/punch", json=first).status_code == 200
    for other in ({"action": "clock_out"},
                  {"device_time": (made + dt.timedelta(minutes=5)).isoformat()},
                  {"device_time": None}):
        problem(httpx.post(f"{booth}/punch", json={**first, **other}), 400,
                "idempotency_key_reused")
    (entry,) = TimeEntry.select().where(TimeEntry.worker == tenant.worker.id)
    assert entry.clock_out is None
    # The same punch again (offset written another way) is still the first one's answer.
    again = {**first, "device_time": made.astimezone(dt.timezone(dt.timedelta(hours=2)))
             .isoformat()}
    assert httpx.post(f"{booth}/punch", json=again).json()["action"] == "clock_in"


def test_a_punch_whose_answer_was_lost_is_applied_once_when_sent_again_from_the_queue(
        booth, tenant):
    # The page sends a punch live with its key; when no answer comes it queues the punch
    # with the device's time and the same key: that is the same punch, not another.
    live = {"pin": "2468", "action": "clock_in", "idempotency_key": "lost"}
    assert httpx.post(f"{booth}/punch", json=live).status_code == 200
    queued = {**live, "device_time": dt.datetime.now(dt.UTC).isoformat()}
    replayed = httpx.post(f"{booth}/punch", json=queued)
    assert replayed.status_code == 200 and replayed.json()["action"] == "clock_in"
    assert TimeEntry.select().where(TimeEntry.worker == tenant.worker.id).count() == 1


def test_a_queued_clock_out_made_before_a_break_that_was_recorded_is_refused_and_listed(
        booth, tenant):
    # The phone saved "clock out 10:05" offline; meanwhile the tablet recorded a break at
    # 10:10-10:20. Taken as sent, the entry would end before its own break.
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=40)

    def queued(action: str, minutes: int, key: str) -> httpx.Response:
        return httpx.post(f"{booth}/punch", json={
            "pin": "2468", "action": action, "idempotency_key": key,
            "device_time": (started + dt.timedelta(minutes=minutes)).isoformat()})

    for action, minutes in (("clock_in", 0), ("break_start", 10), ("break_end", 20)):
        assert queued(action, minutes, action).status_code == 200
    problem(queued("clock_out", 5, "out"), 400, "invalid")
    (entry,) = TimeEntry.select().where(TimeEntry.worker == tenant.worker.id)
    assert entry.clock_out is None
    (listed,) = kiosk.refused_punches(tenant.account_id)
    assert listed.action == "clock_out" and "break" in listed.reason


@pytest.mark.parametrize("clock_off_by_minutes", [3, -3])
def test_a_queued_punch_from_a_device_whose_clock_is_off_is_taken_at_the_hosts_time(
        booth, tenant, clock_off_by_minutes):
    # Kiosk tablets on an office LAN often have no time sync. Three minutes fast, a punch
    # queued through a short outage was refused as "in the future"; three minutes slow, it
    # was recorded three minutes early. The page sends its clock with the punch.
    off = dt.timedelta(minutes=clock_off_by_minutes)
    made = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=20)
    punched = httpx.post(f"{booth}/punch", json={
        "pin": "2468", "action": "clock_in", "idempotency_key": "skewed",
        "device_time": (made + off).isoformat(),
        "device_now": (dt.datetime.now(dt.UTC) + off).isoformat()})
    assert punched.status_code == 200, punched.text
    (entry,) = TimeEntry.select().where(TimeEntry.worker == tenant.worker.id)
    assert abs(entry.clock_in - made.replace(tzinfo=None)) < dt.timedelta(seconds=5)


def test_a_queued_punch_too_old_is_refused_as_422(booth):
    made = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=20)).isoformat()
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_in",
                                              "device_time": made, "idempotency_key": "old"}),
            422, "outside_backdating_window")


def test_wrong_pins_are_refused_then_lock_the_kiosk_with_retry_after(booth):
    for _ in range(4):
        problem(httpx.post(f"{booth}/punch", json={"pin": "1357", "action": "clock_in"}),
                401, "wrong_pin")
    locked = httpx.post(f"{booth}/punch", json={"pin": "1357", "action": "clock_in"})
    problem(locked, 429, "kiosk_locked")
    assert 240 < int(locked.headers["retry-after"]) <= 300
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_in"}),
            429, "kiosk_locked")


def test_a_right_pin_between_wrong_ones_does_not_reset_the_count_towards_the_lock(booth):
    # A worker who knows their own PIN must not guess at the others' PINs without end by
    # slipping it in after every four wrong ones, even where their own punch is refused.
    for attempt in range(4):
        problem(httpx.post(f"{booth}/punch", json={"pin": f"135{attempt}", "action": "clock_in"}),
                401, "wrong_pin")
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_out"}),
            409, "not_clocked_in")
    clocked_in = httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_in"})
    assert clocked_in.status_code == 200  # four wrong so far: the right PIN still works
    problem(httpx.post(f"{booth}/punch", json={"pin": "1359", "action": "clock_in"}),
            429, "kiosk_locked")
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_out"}),
            429, "kiosk_locked")


def test_clocking_rules_answer_with_their_own_codes(booth):
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_out"}),
            409, "not_clocked_in")
    problem(httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "jump"}),
            400, "unknown_action")


@pytest.mark.parametrize(("body", "code"), [
    (b"{", "malformed_json"),
    (b"[]", "invalid_field"),
    (b'{"pin": 2468, "action": "clock_in"}', "invalid_field"),
    (b'{"pin": "2468", "action": "clock_in", "worker_id": 1}', "unknown_field"),
    (b'{"action": "clock_in"}', "missing_field"),
    (b'{"pin": "2468", "action": "clock_in", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "body_too_large"),
    (b'{"pin": "2468", "action": "clock_in", "x": ' + b"[" * 500 + b"]" * 500 + b"}",
     "malformed_json"),
    (b'{"pin": "24\\u0000", "action": "clock_in"}', "wrong_pin"),
    (b'{"pin": "24\x00", "action": "clock_in"}', "malformed_json"),
    (b'{"pin": "2468", "action": "clock_in", "latitude": 91, "longitude": 0}', "invalid"),
    (b'{"pin": "2468", "action": "clock_in", "idempotency_key": "' + b"k" * 101 + b'"}',
     "invalid_idempotency_key"),
    (b'{"pin": "2468", "action": "clock_in", "idempotency_key": "k", "device_time": '
     b'"2026-03-10T07:02:00+00:00", "device_now": "2026-03-10T07:02:00"}', "invalid"),
])
def test_bad_punch_bodies_are_refused_with_problem_json(booth, body, code):
    response = httpx.post(f"{booth}/punch", content=body,
                          headers={"content-type": "application/json"})
    status = {"body_too_large": 413, "wrong_pin": 401}.get(code, 400)
    problem(response, status, code)


def test_a_punch_body_streamed_past_4_kib_without_a_length_is_refused_as_413(booth):
    def chunks():
        yield b'{"pin": "2468", "action": "clock_in", "x": "'
        for _ in range(8):
            yield b"a" * 1024
        yield b'"}'

    refused = problem(httpx.post(f"{booth}/punch", content=chunks(),
                                 headers={"content-type": "application/json"}),
                      413, "body_too_large")
    assert refused["message"] == "Request body too large (at most 4 KiB)"


def test_a_punch_body_over_4_kib_is_told_the_kiosk_limit_not_the_apis(booth):
    body = b'{"pin": "2468", "action": "clock_in", "x": "' + b"a" * 5000 + b'"}'
    refused = problem(httpx.post(f"{booth}/punch", content=body,
                                 headers={"content-type": "application/json"}),
                      413, "body_too_large")
    assert refused["message"] == "Request body too large (at most 4 KiB)"


def test_a_punch_body_sent_with_a_utf8_byte_order_mark_is_read(booth):
    punched = httpx.post(f"{booth}/punch", content=codecs.BOM_UTF8 + b'{"pin": "2468", '
                         b'"action": "clock_in"}', headers={"content-type": "application/json"})
    assert punched.status_code == 200 and punched.json()["action"] == "clock_in"


def test_both_listeners_answer_punches_with_the_same_headers_and_bodies(api, tenant,
                                                                          kiosk_listener):
    """The kiosk listener answers a punch at its edge; the API's listener through its routes."""
    token = kiosk.create_link(tenant.account_id, tenant.site.id, api.url).url.rsplit("/", 1)[1]
    pins.set_pin(tenant.account_id, tenant.worker.id, "2468")
    answers = {}
    for name, listener in (("api", api), ("kiosk", kiosk_listener)):
        url = f"{listener.url}/kiosk/{token}/punch"
        answers[name] = [httpx.post(url, json={"pin": "2468", "action": action})
                         for action in ("clock_in", "clock_out")]
        answers[name].append(httpx.post(url, content=b"{"))
        answers[name].append(httpx.post(url, json={"pin": "0000", "action": "clock_in"}))
    for by_api, by_kiosk in zip(answers["api"], answers["kiosk"], strict=True):
        assert by_api.status_code == by_kiosk.status_code
        assert sorted(by_api.headers) == sorted(by_kiosk.headers), (by_api.headers,
                                                                   by_kiosk.headers)
        for name in ("content-type", "cache-control", "referrer-policy", "x-frame-options",
                     "x-content-type-options"):
            assert by_api.headers[name] == by_kiosk.headers[name]
        same = {k: v for k, v in by_api.json().items() if k not in ("at", "request_id",
                                                                     "local_time",
                                                                     "attempts_left")}
        assert same == {k: v for k, v in by_kiosk.json().items() if k in same}


def test_a_revoked_link_is_404_at_once_everywhere(api, tenant, booth):
    assert httpx.get(f"{booth}/site").status_code == 200
    kiosk.revoke_link(tenant.account_id, tenant.site.id)
    for response in (httpx.get(booth), httpx.get(f"{booth}/"), httpx.get(f"{booth}/site"),
                     httpx.get(f"{booth}/kiosk.js"),
                     httpx.post(f"{booth}/punch", json={"pin": "2468", "action": "clock_in"})):
        problem(response, 404, "kiosk_not_found")


def test_the_page_and_its_files_are_served_from_a_fixed_list(booth):
    page = httpx.get(booth)
    if PAGE_INSTALLED:
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert httpx.head(booth).status_code == 200
        for name, media_type in ASSETS.items():
            served = httpx.get(f"{booth}/{name}")
            assert served.status_code == 200, name
            assert served.headers["content-type"] == media_type
    else:  # the page's own lane installs resources/kiosk
        problem(page, 404, "not_found")
    for outside in ("pyproject.toml", "..%2F..%2Fpyproject.toml", "style.qss", "index.htm",
                    "%2e%2e", "icons%2Flogo.svg", "workers", "api"):
        assert httpx.get(f"{booth}/{outside}").status_code == 404, outside


# --- the token reaches nothing else -------------------------------------------------------


def api_paths(app) -> list[tuple[str, str]]:
    """(method, path) of every API route, path parameters filled with a stand-in."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/api/v1") or route.path in PUBLIC_PATHS:
            continue
        for method in sorted(getattr(route, "methods", ())):
            found.append((method, route.path_format.replace("{", "").replace("}", "")))
    return found


def test_the_token_opens_no_api_path_as_bearer_or_in_the_path(api, tenant, booth):
    token = booth.rsplit("/", 1)[1]
    routes = api_paths(api.app)
    assert len(routes) > 20
    with httpx.Client(base_url=api.url, timeout=30) as http:
        for method, path in routes:
            for as_path in (path, path.rsplit("/", 1)[0] + f"/{token}",
                            f"{path}?id={token}", f"{path}?token={token}"):
                for headers in ({"Authorization": f"Bearer {token}"},
                                {"Authorization": f"Bearer tc_live_{token[:40]}"},
                                {"X-Kiosk-Token": token}, {}):
                    answer = http.request(method, as_path, headers=headers, json={})
                    assert answer.status_code in (401, 429), (method, as_path, headers)
        for path in ("/docs/../api/v1/workers", f"/kiosk/{token}/../../api/v1/workers",
                     f"/kiosk/{token}/%2e%2e/%2e%2e/api/v1/workers"):
            answer = http.get(path)
            assert answer.status_code in (401, 404) and "first_name" not in answer.text


def test_an_api_key_opens_no_kiosk(api, tenant, booth):
    token = booth.rsplit("/", 1)[1]
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    with httpx.Client(base_url=api.url, timeout=30,
                      headers={"Authorization": f"Bearer {tenant.key}"}) as http:
        for path in (f"/kiosk/{forged}/site", f"/kiosk/{tenant.key}/site", "/kiosk/site",
                     f"/kiosk/{tenant.site.id}/site", f"/kiosk/{token.upper()}/site"):
            assert http.get(path).status_code in (401, 404), path
            answer = http.post(path.replace("/site", "/punch"),
                               json={"pin": "2468", "action": "clock_in"})
            assert answer.status_code in (401, 404, 405), path


def test_another_sites_token_clocks_only_at_its_own_site(api, tenant, booth):
    rival = make_tenant()
    rival_link = kiosk.create_link(rival.account_id, rival.site.id, api.url).url
    pins.set_pin(rival.account_id, rival.worker.id, "9753")
    # This site's worker's PIN at the other agency's kiosk, and the other's here: refused.
    problem(httpx.post(f"{rival_link}/punch", json={"pin": "2468", "action": "clock_in"}),
            401, "wrong_pin")
    problem(httpx.post(f"{booth}/punch", json={"pin": "9753", "action": "clock_in"}),
            401, "wrong_pin")
    assert TimeEntry.select().where(TimeEntry.worker.in_(
        [tenant.worker.id, rival.worker.id])).count() == 0


def test_the_token_is_redacted_from_every_logged_path(api, tenant, booth):
    token = booth.rsplit("/", 1)[1]
    with httpx.Client(base_url=api.url, timeout=30) as http:
        http.get(f"/api/v1/workers/{token}", headers={"Authorization": "Bearer nope"})
        http.get(f"/api/v1/workers?kiosk={token}", headers={"Authorization": "Bearer nope"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = [r for r in api_logs.list_logs(limit=500) if r.path.startswith("/api/v1/workers")]
        if len(rows) >= 2:
            break
        time.sleep(0.2)
    assert len(rows) >= 2
    for row in rows:
        assert token not in f"{row.path}?{row.query}"


def test_pins_are_never_read_or_written_through_workers(api, tenant, booth, client):
    created = client.post("/workers", json={"first_name": "P", "last_name": "Q", "pin": "1234"})
    problem(created, 400, "unknown_field")
    patched = client.patch(f"/workers/{tenant.worker.id}", json={"pin": "1234"})
    problem(patched, 400, "unknown_field")
    shown = client.get("/workers", params={"id": tenant.worker.id}).text
    assert "pin" not in shown.lower() and "2468" not in shown


def test_the_kiosk_listener_serves_the_kiosk_and_nothing_else(api, tenant, booth):
    token = booth.rsplit("/", 1)[1]
    listener = ServerThread(create_kiosk_app()).start()
    try:
        with httpx.Client(base_url=listener.url, timeout=30) as http:
            assert http.get(f"/kiosk/{token}/site").json()["name"] == tenant.site.name
            punched = http.post(f"/kiosk/{token}/punch",
                                json={"pin": "2468", "action": "clock_in"})
            assert punched.status_code == 200 and punched.headers["x-request-id"]
            for path in ("/api/v1/workers", "/api/v1/openapi.json", "/docs", "/",
                         "/api/v1/workers.php"):
                answer = http.get(path, headers={"Authorization": f"Bearer {tenant.key}"})
                assert answer.status_code == 404, path
    finally:
        listener.stop()


def test_every_method_on_the_kiosk_answers_with_the_api_rules(booth):
    with httpx.Client(timeout=30) as http:
        assert http.request("OPTIONS", f"{booth}/punch").status_code == 204
        assert "POST" in http.request("OPTIONS", f"{booth}/punch").headers["allow"]
        assert http.head(f"{booth}/site").status_code == 200
        assert http.head(f"{booth}/site").content == b""
        for method in ("PUT", "DELETE", "PATCH", "TRACE"):
            problem(http.request(method, f"{booth}/punch"), 405, "method_not_allowed")
        problem(http.get(f"{booth}/punch"), 405, "method_not_allowed")
        problem(http.post(f"{booth}/site", json={}), 405, "method_not_allowed")
