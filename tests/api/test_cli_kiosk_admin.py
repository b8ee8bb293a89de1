"""The kiosk's admin commands for a host run without the desktop (`tempclock serve`):
the refused offline punches to follow up, and a site's grace minutes before "late"."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cli_runs import run_tempclock

from tempclock.api.services import kiosk, lateness, pins
from tempclock.api.services.errors import DomainError

pytestmark = pytest.mark.sqlite_only  # the CLI runs on the test's own SQLite folder


def tc(config, *args: str, ok: bool = True) -> dict:
    done = run_tempclock([*args, "--json", "--data-dir", str(config.data_dir)])
    assert (done.returncode == 0) == ok, done.stderr + done.stdout
    return json.loads(done.stdout)


def test_refused_offline_punches_are_listed_for_the_admin(config, account, site, worker):
    pins.set_pin(account.id, worker.id, "4444")
    token = kiosk.create_link(account.id, site.id, "http://office").url.rsplit("/", 1)[1]
    made = dt.datetime.now(dt.UTC) - dt.timedelta(hours=30)
    with pytest.raises(DomainError):
        kiosk.punch(token, "4444", "clock_in", device_time=made, idempotency_key="q-1")

    (listed,) = tc(config, "kiosk", "refused", "--account", str(account.id))["refused"]
    assert (listed["worker_name"], listed["action"], listed["code"]) == (
        "Ann Nowak", "clock_in", "outside_backdating_window")
    text = run_tempclock(["kiosk", "refused", "--account", str(account.id),
                          "--data-dir", str(config.data_dir)]).stdout
    assert "Ann Nowak" in text and made.strftime("%Y-%m-%d %H:%M") in text
    assert tc(config, "kiosk", "refused", "--account", "999", ok=False)["code"] == "not_found"


def test_a_site_s_grace_minutes_are_shown_and_set(config, account, site):
    assert tc(config, "kiosk", "grace", "--location", str(site.id)) == {
        "location_id": site.id, "late_grace_minutes": 10}
    tc(config, "kiosk", "grace", "--location", str(site.id), "--minutes", "25")
    assert lateness.grace_minutes(account.id, site.id) == 25
    refused = tc(config, "kiosk", "grace", "--location", str(site.id), "--minutes", "-5",
                 ok=False)
    assert refused["code"] != "error" and "late_grace_minutes" in refused["message"]
    assert lateness.grace_minutes(account.id, site.id) == 25  # nothing changed
