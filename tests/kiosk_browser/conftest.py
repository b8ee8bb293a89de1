"""Fixtures of the kiosk page's browser tests: a real `tempclock serve`, a site with a kiosk
link, workers with PINs, and Debian's headless Chromium driven by Playwright.

Skipped, saying why, only where chromium (or the playwright package) is missing; `.ci/run`
installs both, so CI always runs them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from kiosk_host import CHROMIUM, LEEDS, TABLET, KioskHost, chromium_missing, free_port

from tempclock.api.services import accounts, keys, kiosk, locations, pins, workers

_why_not = chromium_missing()
_numbers = itertools.count(1)


def pytest_collection_modifyitems(items):
    if _why_not is None:
        return
    for item in items:
        if "kiosk_browser" in str(item.path):
            item.add_marker(pytest.mark.skip(reason=_why_not))


@dataclass
class Kiosk:
    """A site with a kiosk link on a running host, and an API key to look at what it recorded."""

    host: KioskHost
    account_id: int
    site: locations.Location
    url: str
    api_key: str

    def worker(self, first_name: str, pin: str, language: str = "en") -> workers.Worker:
        """A worker of this site with `pin` set."""
        n = next(_numbers)
        worker = workers.create_worker(self.account_id, workers.WorkerCreate(
            first_name=first_name, last_name=f"Tester{n}", employee_ref=f"KIOSK-{n:04d}",
            location_id=self.site.id, preferred_language=language))
        assert pins.set_pin(self.account_id, worker.id, pin) == pin
        return worker

    def revoke(self) -> None:
        """Withdraw the site's kiosk link, as the admin does."""
        kiosk.revoke_link(self.account_id, self.site.id)

    def entries(self, worker_id: int) -> list[dict]:
        """The worker's time entries, as the API shows them to an integrator."""
        response = httpx.get(
            f"{self.host.url}/api/v1/timesheets",
            params={"worker_id": worker_id, "entry_filter": "all"},
            headers={"Authorization": f"Bearer {self.api_key}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()["data"]


@pytest.fixture
def host(config, tmp_path) -> Iterator[KioskHost]:
    """`tempclock serve` over the test's data directory; stopped afterwards."""
    served = KioskHost(config.data_dir, tmp_path / "serve.log", free_port())
    yield served
    served.stop()


@pytest.fixture
def make_kiosk(store, host) -> Callable[..., Kiosk]:
    """A site (settings as given) with a kiosk link; the host is started on first use."""

    def make(**settings: object) -> Kiosk:
        n = next(_numbers)
        account = accounts.create_account(f"Kiosk Agency {n}", api_enabled=True)
        site = locations.create_location(account.id, locations.LocationCreate(
            name=f"Leeds DC {n}", timezone="Europe/London", **LEEDS,
            settings=locations.LocationSettings(**settings)))
        link = kiosk.create_link(account.id, site.id, host.url)
        if host.process is None:
            host.start()
        api_key = keys.issue_key(account.id, "Kiosk checks").plaintext
        return Kiosk(host=host, account_id=account.id, site=site, url=link.url, api_key=api_key)

    return make


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless (never a browser Playwright downloads); per module, since
    Playwright's sync API can't start while another module's instance still runs (the
    screenshot set starts its own)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser):
    """Open a kiosk URL in a fresh browser profile (`locale`, viewport and permissions as given)."""
    contexts = []

    def open_(url: str, *, locale: str = "en-GB", device: dict | None = None, **options):
        context = browser.new_context(locale=locale, **(device or TABLET), **options)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()
