"""Text that would reorder or hide itself on the admin's screen or in a payroll file is
refused in every text field, whichever way it arrives (HTTP or the `tempclock` command):
C1 controls, bidi overrides and isolates, zero-width spaces, line separators, lone
surrogates. Real names in any script, and emoji with joiners, are kept as sent."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

JSON = {"content-type": "application/json"}
SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]

HIDDEN = {
    "right-to-left override": "Ann\u202egnp.exe",
    "left-to-right embedding": "Ann\u202aB",
    "right-to-left isolate": "Ann\u2067B",
    "C1 control sequence introducer": "Ann\u009b31m",
    "C1 next line": "Ann\u0085B",
    "zero-width space": "Ann\u200bB",
    "byte order mark inside": "An\ufeffn",
    "line separator": "Ann\u2028B",
    "paragraph separator": "Ann\u2029B",
}

KEPT = ["Zażółć Gęślą", "Ștefan Țărână", "Žydrūnė Šimkūnaitė", "محمد", "李小龍",
        "O'Brien-Smith", "Ann \U0001f469\u200d\U0001f4bb", "Ann\t(night)"]


def _text_fields(tenant) -> list[tuple[str, str, str, dict]]:
    """(method, path, field, the rest of a valid body) for a text field of every resource."""
    worker, site = tenant.worker.id, tenant.site.id
    return [
        ("POST", "/workers", "first_name", {"last_name": "Nowak"}),
        ("POST", "/workers", "last_name", {"first_name": "Ann"}),
        ("PATCH", f"/workers/{worker}", "role", {}),
        ("POST", "/locations", "name", {"timezone": "Europe/London"}),
        ("PATCH", f"/locations/{site}", "city", {}),
        ("POST", "/webhooks", "description", {"url": "https://example.com/hook",
                                             "events": ["*"]}),
        ("POST", "/clock", "notes", {"worker_id": worker, "action": "in",
                                     "location_id": site}),
    ]


@pytest.mark.parametrize("hidden", HIDDEN.values(), ids=HIDDEN.keys())
def test_a_text_field_carrying_hidden_characters_is_refused_and_nothing_is_stored(
        client, tenant, hidden):
    for method, path, field, rest in _text_fields(tenant):
        before = client.get("/events").json()["pagination"]["total"]
        response = client.request(method, path, json={**rest, field: hidden}, headers=JSON)
        assert response.status_code == 400, (path, field, response.text)
        body = response.json()
        assert body["field"] == field and "control characters (U+" in body["message"]
        assert client.get("/events").json()["pagination"]["total"] == before, (path, field)


def test_a_webhook_url_carrying_a_right_to_left_override_is_refused(client):
    response = client.post("/webhooks", json={"url": "https://example.com/\u202egnp.exe",
                                              "events": ["*"]})
    assert response.status_code == 400, response.text
    assert client.get("/webhooks").json()["data"] == []


def test_a_lone_surrogate_escaped_in_json_is_refused_not_stored(client):
    body = b'{"first_name": "Ann\\udc80", "last_name": "Nowak"}'
    response = client.post("/workers", content=body, headers=JSON)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("name", KEPT)
def test_real_names_in_any_script_are_kept_exactly_as_sent(client, name):
    response = client.post("/workers", json={"first_name": name, "last_name": "Nowak"})
    assert response.status_code == 201, response.text
    worker_id = response.json()["data"]["id"]
    assert client.get(f"/workers/{worker_id}").json()["data"]["first_name"] == name


def tempclock(api, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args, "--data-dir", str(api.config.data_dir)],
                          capture_output=True, text=True, encoding="utf-8", timeout=60,
                          check=False)


@pytest.mark.parametrize("hidden", [HIDDEN["right-to-left override"],
                                    HIDDEN["C1 control sequence introducer"]])
def test_the_command_refuses_account_and_key_names_that_hide_text_in_one_line(
        api, tenant, hidden):
    for args in (["accounts", "create", hidden],
                 ["accounts", "rename", str(tenant.account_id), hidden],
                 ["keys", "issue", "--account", str(tenant.account_id), "--name", hidden]):
        result = tempclock(api, *args)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("Error: name contains control characters"), result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    listed = tempclock(api, "accounts", "list", "--json")
    assert hidden not in listed.stdout and "\\u202e" not in listed.stdout.lower()
