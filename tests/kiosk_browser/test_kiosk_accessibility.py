"""axe-core (bundled by axe-playwright-python) finds no serious or critical accessibility
violation on the kiosk page, on a tablet and a phone, before and after a punch, in each
of its languages, and with saved offline punches listed."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from kiosk_host import PHONE, RESULT_WAIT_MS, TABLET
from playwright.sync_api import expect

BLOCKING = {"serious", "critical"}


def blocking_violations(page) -> list[str]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            f"{[node['target'] for node in v['nodes']]}"
            for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize(("device", "locale"), [
    (TABLET, "en-GB"), (PHONE, "pl-PL"), (TABLET, "ro-RO"), (PHONE, "lt-LT")],
    ids=["tablet-en", "phone-pl", "tablet-ro", "phone-lt"])
def test_the_kiosk_page_has_no_serious_accessibility_violation(make_kiosk, open_page, device,
                                                                locale):
    kiosk = make_kiosk()
    kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url, device=device, locale=locale)
    expect(page.get_by_label("PIN", exact=True)).to_be_visible()
    assert blocking_violations(page) == []

    page.get_by_label("PIN", exact=True).fill("4821")
    page.locator('[data-action="clock_in"]').click()
    expect(page.get_by_role("status")).to_contain_text("Ann", timeout=RESULT_WAIT_MS)
    assert blocking_violations(page) == []


def test_the_list_of_saved_punches_has_no_serious_accessibility_violation(make_kiosk, open_page):
    kiosk = make_kiosk()
    kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)
    kiosk.host.stop()
    page.get_by_label("PIN", exact=True).fill("4821")
    page.get_by_role("button", name="Clock in", exact=True).click()
    expect(page.get_by_role("region", name="Saved on this device")).to_be_visible(
        timeout=RESULT_WAIT_MS)
    assert blocking_violations(page) == []
