"""Someone presenting wrong keys that start like a real one is seen in the logs as guessing
at that key; the start of anything else presented as a key is never logged."""

from __future__ import annotations

import time

from tempclock.api.http.app import scope_needed
from tempclock.api.services import api_logs, keys, log_alerts


def _logged_unattributed(expected: int) -> list[api_logs.ApiLog]:
    deadline = time.monotonic() + 30
    rows: list[api_logs.ApiLog] = []
    while time.monotonic() < deadline:
        rows = [r for r in api_logs.list_logs(limit=10_000) if r.account_id is None]
        if len(rows) >= expected:
            break
        time.sleep(0.1)
    return rows


def test_wrong_keys_starting_like_a_real_one_raise_the_guessing_alert(api, tenant):
    prefix = keys.get_key(tenant.key_id).prefix
    before = len(_logged_unattributed(0))
    with api.client() as client:
        for n in range(11):
            guess = prefix + f"{n:032x}"
            assert client.get("/workers", headers={"Authorization": f"Bearer {guess}"}
                              ).status_code == 401
        assert client.get("/workers", headers={"Authorization": "Bearer hunter2-secret-pass"}
                          ).status_code == 401
    rows = _logged_unattributed(before + 12)
    assert sum(r.key_prefix == prefix for r in rows) == 11
    assert not any(r.key_prefix and r.key_prefix.startswith("hunter") for r in rows)

    found = log_alerts.log_alerts(tenant.account_id, scope_of=scope_needed)
    assert [(a.kind, a.key_id, a.action) for a in found] == [
        ("guessing", tenant.key_id, log_alerts.REVOKE_KEY)]
