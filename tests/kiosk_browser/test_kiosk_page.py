"""The kiosk page as a worker meets it, in a real headless Chromium against `tempclock serve`."""

from __future__ import annotations

import re

from kiosk_host import (
    LEEDS,
    OUTSIDE_LEEDS,
    PHONE,
    RESULT_WAIT_MS,
    punch,
    wait_until_activated,
)
from playwright.sync_api import expect

RESET_WAIT_MS = 40_000  # the page clears a result after ~8 s; a loaded CI box is slower


def result(page):
    return page.get_by_role("status")


def test_a_worker_clocks_in_with_a_pin_and_the_entry_is_visible_through_the_api(
        make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)

    punch(page, "4821", "Clock in")

    expect(result(page)).to_contain_text("Hello, Ann!", timeout=RESULT_WAIT_MS)
    expect(result(page)).to_contain_text("You are clocked in.")
    expect(result(page)).to_contain_text(re.compile(r"Time: \d\d:\d\d"))
    [entry] = kiosk.entries(ann.id)
    assert entry["clock_out"] is None
    assert entry["source"] == "kiosk"
    assert entry["location_id"] == kiosk.site.id


def test_after_a_punch_the_page_resets_for_the_next_person(make_kiosk, open_page):
    kiosk = make_kiosk()
    kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)
    punch(page, "4821", "Clock in")
    expect(result(page)).to_contain_text("Hello, Ann!", timeout=RESULT_WAIT_MS)
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")

    expect(result(page)).not_to_contain_text("Ann", timeout=RESET_WAIT_MS)
    expect(page.get_by_role("button", name="Clock out", exact=True)).to_be_enabled()


def test_a_polish_worker_is_answered_in_polish_then_the_page_returns_to_the_browser_language(
        make_kiosk, open_page):
    kiosk = make_kiosk()
    kiosk.worker("Ewa", "7390", language="pl")
    page = open_page(kiosk.url, locale="en-GB")

    punch(page, "7390", "Clock in")

    expect(result(page)).to_contain_text("Dzień dobry, Ewa!", timeout=RESULT_WAIT_MS)
    expect(result(page)).to_contain_text("Praca rozpoczęta.")
    expect(page.locator("html")).to_have_attribute("lang", "pl")
    expect(page.get_by_role("button", name="Clock in", exact=True)).to_be_visible(
        timeout=RESET_WAIT_MS)
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_before_the_pin_the_page_speaks_the_browser_language(make_kiosk, open_page):
    kiosk = make_kiosk()
    page = open_page(kiosk.url, locale="lt-LT")

    expect(page.get_by_role("button", name="Pradėti darbą", exact=True)).to_be_visible()
    expect(page.get_by_label("PIN", exact=True)).to_be_visible()
    page = open_page(kiosk.url, locale="ro-RO")
    expect(page.get_by_role("button", name="Începe pauza", exact=True)).to_be_visible()


def test_a_break_is_started_and_ended_from_the_keyboard_alone(make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)

    for action, done in (("Clock in", "You are clocked in."),
                         ("Start break", "Your break has started."),
                         ("End break", "Your break has ended.")):
        page.get_by_label("PIN", exact=True).focus()
        page.keyboard.type("4821")
        button = page.get_by_role("button", name=action, exact=True)
        for _ in range(4):  # Tab from the PIN field to the action (the touch keypad is skipped)
            page.keyboard.press("Tab")
            if button.evaluate("element => element === document.activeElement"):
                break
        expect(button).to_be_focused()
        page.keyboard.press("Enter")
        expect(result(page)).to_contain_text(done, timeout=RESULT_WAIT_MS)

    [entry] = kiosk.entries(ann.id)
    assert entry["clock_out"] is None
    [taken] = entry["breaks"]
    assert taken["start"] and taken["end"]


def test_wrong_pins_are_told_and_five_lock_the_kiosk(make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)

    punch(page, "1111", "Clock in")
    expect(result(page)).to_contain_text("Wrong PIN. Please try again.", timeout=RESULT_WAIT_MS)
    expect(page.get_by_label("PIN", exact=True)).to_have_value("")
    for wrong in ("2222", "3333", "4444", "5555"):
        punch(page, wrong, "Clock in")
        expect(result(page)).to_contain_text(re.compile("Wrong PIN|locked"),
                                              timeout=RESULT_WAIT_MS)

    punch(page, "4821", "Clock in")  # the right PIN, but the kiosk is locked now
    expect(result(page)).to_contain_text(
        re.compile(r"Too many wrong PINs\. This kiosk is locked for [1-5] min\."),
        timeout=RESULT_WAIT_MS)
    assert kiosk.entries(ann.id) == []


def test_a_kiosk_whose_link_was_revoked_says_so_and_records_nothing(make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)
    kiosk.revoke()

    punch(page, "4821", "Clock in")

    expect(result(page)).to_contain_text("This kiosk link no longer works",
                                         timeout=RESULT_WAIT_MS)
    assert kiosk.entries(ann.id) == []


def test_a_phone_inside_a_refusing_geofence_clocks_in_with_its_position(make_kiosk, open_page):
    kiosk = make_kiosk(geofence_mode="block", geofence_radius_m=300)
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url, device=PHONE, permissions=["geolocation"],
                     geolocation={**LEEDS, "accuracy": 15})

    punch(page, "4821", "Clock in")

    expect(result(page)).to_contain_text("You are clocked in.", timeout=RESULT_WAIT_MS)
    [entry] = kiosk.entries(ann.id)
    assert entry["within_geofence"] is True
    assert abs(entry["latitude"] - LEEDS["latitude"]) < 1e-6


def test_a_phone_outside_a_refusing_geofence_is_refused_and_nothing_is_recorded(
        make_kiosk, open_page):
    kiosk = make_kiosk(geofence_mode="block", geofence_radius_m=300)
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url, device=PHONE, permissions=["geolocation"],
                     geolocation={**OUTSIDE_LEEDS, "accuracy": 15})

    punch(page, "4821", "Clock in")

    expect(result(page)).to_contain_text("You are outside the site's area",
                                         timeout=RESULT_WAIT_MS)
    assert kiosk.entries(ann.id) == []


def test_the_phone_layout_fits_360_pixels_without_sideways_scrolling(make_kiosk, open_page):
    kiosk = make_kiosk()
    page = open_page(kiosk.url, device=PHONE)
    expect(page.get_by_role("button", name="End break", exact=True)).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_a_name_that_looks_like_html_is_shown_as_text(make_kiosk, open_page):
    kiosk = make_kiosk()
    kiosk.worker('<img src=x onerror="document.title=1">Ann', "4821")
    page = open_page(kiosk.url)

    punch(page, "4821", "Clock in")

    expect(result(page)).to_contain_text('Hello, <img src=x onerror="document.title=1">Ann!',
                                         timeout=RESULT_WAIT_MS)
    expect(page.locator("#result img")).to_have_count(0)


def test_the_page_asks_nothing_of_any_other_host(make_kiosk, open_page, browser):
    kiosk = make_kiosk()
    kiosk.worker("Ann", "4821")
    context = browser.new_context(locale="en-GB")
    asked: list[str] = []
    context.on("request", lambda request: asked.append(request.url))
    try:
        page = context.new_page()
        page.goto(kiosk.url)
        punch(page, "4821", "Clock in")
        expect(result(page)).to_contain_text("Hello, Ann!", timeout=RESULT_WAIT_MS)
        wait_until_activated(page)  # the shell it caches came from here too
    finally:
        context.close()
    assert asked
    assert all(url.startswith(kiosk.host.url + "/kiosk/") for url in asked), asked


def test_every_text_of_the_page_is_in_polish_romanian_and_lithuanian(make_kiosk, open_page):
    page = open_page(make_kiosk().url)
    missing = page.evaluate("""() => Object.fromEntries(["pl", "ro", "lt"].map(lang => [lang,
        Object.keys(TEXTS.en).filter(key => !TEXTS[lang][key])]))""")
    assert missing == {"pl": [], "ro": [], "lt": []}
