"""What the getting-started guide needs to know and do, without Qt: how far an account has
come (named, sites, workers, API access, a key), the `curl` of the first request, and that
request itself, sent to the embedded API as an integration would send it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tempclock.api.services import accounts, keys, locations, workers

DEFAULT_ACCOUNT_NAME = "My agency"  # the account made for an empty data directory
FIRST_REQUEST_PATH = "workers"  # what the first request reads: the agency's workers
KEY_PLACEHOLDER = "tc_live_…"  # shown in the curl until a key is issued in the guide
TEST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class GuideProgress:
    """Which of the guide's steps the admin has already done (in this account)."""

    account: accounts.Account
    sites: int
    workers: int
    active_keys: int

    @property
    def named(self) -> bool:
        return self.account.name != DEFAULT_ACCOUNT_NAME

    @property
    def has_people(self) -> bool:
        return self.sites > 0 and self.workers > 0

    @property
    def api_on(self) -> bool:
        return self.account.api_enabled

    @property
    def has_key(self) -> bool:
        return self.active_keys > 0


def guide_progress(account_id: int) -> GuideProgress:
    """Read how far the account has come (runs on the background pool)."""
    one = 1  # only the totals are wanted
    return GuideProgress(
        account=accounts.get_account(account_id),
        sites=locations.list_locations(
            account_id, locations.LocationFilter(limit=one)).pagination.total,
        workers=workers.list_workers(
            account_id, workers.WorkerFilter(limit=one)).pagination.total,
        active_keys=sum(1 for key in keys.list_keys(account_id) if key.status == "Active"),
    )


def first_request_url(base_url: str) -> str:
    """The address of the first request, on this computer's API (`base_url` ends in /api/v1/)."""
    return f"{base_url.rstrip('/')}/{FIRST_REQUEST_PATH}"


def first_request_curl(base_url: str, key: str | None) -> str:
    """The command an integrator types to make the first request, filled in."""
    return (f'curl -H "Authorization: Bearer {key or KEY_PLACEHOLDER}" '
            f"{first_request_url(base_url)}")


@dataclass(frozen=True)
class TestAnswer:
    """What the API answered to the test request, ready to show."""

    status: int
    reason: str
    body: str  # pretty JSON when the answer was JSON, else the text as it came

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def send_first_request(base_url: str, key: str) -> TestAnswer:
    """GET the first request's address with `key`, as an integration would (pool only)."""
    import httpx  # only when the admin tests: keeps start-up quick

    response = httpx.get(first_request_url(base_url),
                         headers={"Authorization": f"Bearer {key.strip()}"},
                         timeout=TEST_TIMEOUT_S, verify=False)  # noqa: S501 - our own server
    return TestAnswer(status=response.status_code, reason=response.reason_phrase,
                      body=_pretty(response.text))


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text
