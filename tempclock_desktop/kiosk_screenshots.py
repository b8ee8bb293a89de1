"""The kiosk page in the screenshot set: a tablet (1280×800) in English and a phone (360×740)
in Polish, each ready for a PIN, after a clock-in, and (tablet) with a punch saved while the
office PC could not be reached. `tempclock_desktop.screenshots` calls `take`; it needs
Debian's chromium (and the `playwright` package of the test extra) and says so when either
is missing.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tempclock.api.config import load_config
from tempclock.api.http import create_app
from tempclock.api.server import ServerThread
from tempclock.api.services import accounts, kiosk, locations, pins, workers
from tempclock.api.store import close_store, open_store

CHROMIUM = "/usr/bin/chromium"
TABLET = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
# (file name prefix, device, browser locale, worker's PIN, the "Clock in" button's name)
SHOTS = [
    ("kiosk-tablet-en", TABLET, "en-GB", "4821", "Clock in"),
    ("kiosk-phone-pl", PHONE, "pl-PL", "7390", "Rozpocznij pracę"),
]


def missing() -> str | None:
    """Why the kiosk screenshots can't be taken here, or None."""
    if shutil.which(CHROMIUM) is None:
        return f"no {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "no playwright package (pip install -e '.[test]')"
    return None


def _agency() -> tuple[int, int]:
    """A site in Leeds with two workers: Ann (English) and Ewa (Polish)."""
    account = accounts.create_account("Northern Temps Ltd", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London", latitude=53.8008, longitude=-1.4436))
    for first, last, language, pin in (("Ann", "Walker", "en", "4821"),
                                       ("Ewa", "Nowak", "pl", "7390")):
        worker = workers.create_worker(account.id, workers.WorkerCreate(
            first_name=first, last_name=last, location_id=site.id, preferred_language=language))
        pins.set_pin(account.id, worker.id, pin)
    return account.id, site.id


def _photograph(browser, url: str, out_dir: Path, server: ServerThread) -> list[Path]:
    written = []
    for prefix, device, locale, pin, clock_in in SHOTS:
        context = browser.new_context(locale=locale, **device)
        page = context.new_page()
        page.goto(url)
        page.wait_for_load_state("networkidle")
        written.append(out_dir / f"{prefix}-ready.png")
        page.screenshot(path=written[-1])
        page.get_by_label("PIN", exact=True).fill(pin)
        page.get_by_role("button", name=clock_in, exact=True).click()
        page.get_by_role("status").get_by_text(", ").wait_for()  # the greeting
        written.append(out_dir / f"{prefix}-clocked-in.png")
        page.screenshot(path=written[-1])
        context.close()
    context = browser.new_context(locale="en-GB", **TABLET)
    page = context.new_page()
    page.goto(url)
    page.wait_for_load_state("networkidle")
    server.stop()  # the office PC goes away: the next punch is saved on the device
    page.get_by_label("PIN", exact=True).fill("4821")
    page.get_by_role("button", name="Clock out", exact=True).click()
    page.get_by_role("region", name="Saved on this device").wait_for()
    written.append(out_dir / "kiosk-tablet-en-saved-offline.png")
    page.screenshot(path=written[-1])
    context.close()
    return written


def take(out_dir: Path) -> list[Path]:
    """Write the kiosk page's PNGs into `out_dir`; returns their paths ([] if it can't)."""
    why = missing()
    if why is not None:
        print(f"kiosk screenshots skipped: {why}")
        return []
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tempclock-kiosk-shots-") as temp:
        open_store(load_config(Path(temp) / "data"))
        try:
            account_id, site_id = _agency()
            server = ServerThread(create_app()).start()
            try:
                url = kiosk.create_link(account_id, site_id, server.url).url
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM)
                    try:
                        return _photograph(browser, url, out_dir, server)
                    finally:
                        browser.close()
            finally:
                server.stop()
        finally:
            close_store()
