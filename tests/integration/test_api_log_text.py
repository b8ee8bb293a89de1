"""The API log keeps what a client sent as the client meant it: a user agent in UTF-8 (how
every client sends non-ASCII today) reads back as the same text in `tempclock logs`, not as
mojibake; bytes that are not UTF-8 are kept as ISO-8859-1, never dropped."""

from __future__ import annotations

import json
import time

from test_cli_output import send, tempclock

from tempclock.api.services import api_logs


def _logged(api, how_many: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while len(api_logs.list_logs(limit=1000)) < how_many and time.monotonic() < deadline:
        time.sleep(0.05)
    result = tempclock(api, "logs", "--limit", "1000", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["logs"]


def test_a_utf8_user_agent_reads_back_as_sent_and_other_bytes_as_latin1(api, tenant):
    before = len(api_logs.list_logs(limit=1000))
    auth = f"Authorization: Bearer {tenant.key}".encode()
    agent = "Zażółć-ATS/2.1 (Łódź; Ștefan) 李"
    assert send(api.url, b"/api/v1/workers", [auth, b"User-Agent: " + agent.encode()]) == 200
    assert send(api.url, b"/api/v1/workers", [auth, b"User-Agent: Legacy \xe9\xff/1.0"]) == 200
    rows = _logged(api, before + 2)
    agents = {row["user_agent"] for row in rows}
    assert agent in agents, agents
    assert "Legacy \u00e9\u00ff/1.0" in agents, agents

    table = tempclock(api, "logs", "--limit", "1000")
    assert agent in table.stdout and "Å¼" not in table.stdout


def test_a_key_inside_a_utf8_user_agent_is_still_redacted(api, tenant):
    before = len(api_logs.list_logs(limit=1000))
    auth = f"Authorization: Bearer {tenant.key}".encode()
    agent = f"Gęś-sync key={tenant.key} ünd".encode()
    assert send(api.url, b"/api/v1/workers", [auth, b"User-Agent: " + agent]) == 200
    rows = _logged(api, before + 1)
    assert all(tenant.key not in json.dumps(row, ensure_ascii=False) for row in rows)
    assert any(row["user_agent"].startswith("Gęś-sync key=") for row in rows)
