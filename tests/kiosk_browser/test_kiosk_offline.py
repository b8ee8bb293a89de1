"""The kiosk page when the office PC can't be reached: it keeps punches on the device and
sends them, once each, when the host is back; it opens from its service worker meanwhile."""

from __future__ import annotations

import datetime as dt
import time

from kiosk_host import (
    INSTALL_WAIT_S,
    PHONE,
    RESULT_WAIT_MS,
    TABLET,
    punch,
    wait_until_activated,
    wait_until_installed,
)
from playwright.sync_api import expect

NOTHING_REGISTERED = ("navigator.serviceWorker.getRegistration(location.href)"
                      ".then(registration => registration === undefined)")
RESEND_WAIT_MS = 90_000  # the page retries every ~10 s; generous for a loaded CI box


def saved_rows(page):
    return page.get_by_role("region", name="Saved on this device").get_by_role("listitem")


def test_punches_made_while_the_host_is_down_are_sent_once_each_when_it_is_back(
        make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    bob = kiosk.worker("Bob", "5930")
    page = open_page(kiosk.url)
    wait_until_installed(page)

    kiosk.host.stop()
    punch(page, "4821", "Clock in")
    expect(page.get_by_role("status")).to_contain_text(
        "Saved, will send when the connection is back.", timeout=RESULT_WAIT_MS)
    punch(page, "5930", "Clock in")
    expect(saved_rows(page)).to_have_count(2, timeout=RESULT_WAIT_MS)
    expect(saved_rows(page).first).to_contain_text("saved, will send")

    page.reload()  # the page opens from its service worker while the host is down
    expect(page.get_by_role("button", name="Clock in", exact=True)).to_be_visible()
    expect(saved_rows(page)).to_have_count(2)

    kiosk.host.start()
    expect(saved_rows(page)).to_have_count(0, timeout=RESEND_WAIT_MS)
    for worker in (ann, bob):
        [entry] = kiosk.entries(worker.id)
        assert entry["source"] == "kiosk_offline"
        assert entry["clock_out"] is None


def test_a_tablet_whose_offline_shell_failed_to_install_installs_it_once_the_host_answers(
        make_kiosk, browser):
    kiosk = make_kiosk()
    context = browser.new_context(locale="en-GB", **TABLET)
    refused: list[str] = []

    def unreachable(route):  # one of the files the worker keeps cannot be fetched
        refused.append(route.request.url)
        route.abort("connectionrefused")

    try:
        context.route("**/icon-512.png", unreachable)  # only the worker asks for this one
        page = context.new_page()
        page.goto(kiosk.url)
        # The install failed, and a failed first install leaves nothing registered.
        deadline = time.monotonic() + INSTALL_WAIT_S
        while not (refused and page.evaluate(NOTHING_REGISTERED)):
            assert time.monotonic() < deadline, "the worker's install was never refused"
            page.wait_for_timeout(100)
        context.unroute("**/icon-512.png")
        wait_until_activated(page)  # the page tried again by itself: no reload, no new visit
    finally:
        context.close()


def test_a_punch_whose_answer_was_lost_is_sent_again_and_recorded_once(make_kiosk, open_page):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url, service_workers="block")  # so every request can be watched
    answered = []

    def lose_first_answer(route):
        response = route.fetch()  # the host records the punch...
        if not answered:
            answered.append(response.status)
            route.abort("connectionreset")  # ...but its answer never reaches the page
        else:
            route.fulfill(response=response)

    page.route("**/punch", lose_first_answer)
    punch(page, "4821", "Clock in")
    expect(page.get_by_role("status")).to_contain_text("Saved, will send",
                                                       timeout=RESULT_WAIT_MS)

    expect(saved_rows(page)).to_have_count(0, timeout=RESEND_WAIT_MS)
    assert answered == [200]
    [entry] = kiosk.entries(ann.id)
    assert entry["clock_out"] is None


def test_a_saved_punch_too_old_for_the_site_is_shown_as_not_accepted(make_kiosk, open_page):
    kiosk = make_kiosk(max_backdate_hours=1)
    ann = kiosk.worker("Ann", "4821")
    page = open_page(kiosk.url)
    kiosk.host.stop()
    # The punch is made three hours ago (by this device's clock, as by the host's)...
    page.clock.set_fixed_time(dt.datetime.now(dt.UTC) - dt.timedelta(hours=3))
    punch(page, "4821", "Clock in")
    expect(saved_rows(page)).to_have_count(1, timeout=RESULT_WAIT_MS)

    # ...and sent now: older than the site allows.
    page.clock.set_fixed_time(dt.datetime.now(dt.UTC))
    kiosk.host.start()
    expect(saved_rows(page).first).to_contain_text("not accepted", timeout=RESEND_WAIT_MS)
    expect(saved_rows(page).first).to_contain_text("Saved too long ago to be accepted")
    assert kiosk.entries(ann.id) == []
    saved_rows(page).first.get_by_role("button", name="Dismiss").click()
    expect(saved_rows(page)).to_have_count(0)


def test_a_phone_that_lost_its_signal_sends_its_saved_punch_as_soon_as_it_is_back(
        make_kiosk, browser):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    context = browser.new_context(locale="en-GB", **PHONE)
    try:
        page = context.new_page()
        page.clock.install()
        page.goto(kiosk.url)
        # The page's timers stand still from here: only the browser's "online" event can
        # send the saved punch, not the periodic retry.
        page.clock.pause_at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2))
        context.set_offline(True)
        punch(page, "4821", "Clock in")
        expect(saved_rows(page)).to_have_count(1, timeout=RESULT_WAIT_MS)
        assert kiosk.entries(ann.id) == []

        context.set_offline(False)
        expect(saved_rows(page)).to_have_count(0, timeout=RESULT_WAIT_MS)
    finally:
        context.close()
    [entry] = kiosk.entries(ann.id)
    assert entry["source"] == "kiosk_offline"


def test_a_punch_saved_after_a_slow_failure_keeps_the_time_it_was_made(make_kiosk, browser):
    kiosk = make_kiosk()
    ann = kiosk.worker("Ann", "4821")
    context = browser.new_context(locale="en-GB", service_workers="block", **TABLET)
    held = []
    try:
        page = context.new_page()
        made = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=10)
        page.clock.install(time=made)
        page.goto(kiosk.url)
        def hold(route):  # the punch reaches no host, and nothing answers for a while
            held.append(route)

        context.route("**/punch", hold)
        punch(page, "4821", "Clock in")
        deadline = time.monotonic() + INSTALL_WAIT_S
        while not held:
            assert time.monotonic() < deadline, "the punch was never sent"
            page.wait_for_timeout(50)
        page.clock.fast_forward("05:00")  # five minutes on, the connection gives up
        held[0].abort("timedout")
        expect(saved_rows(page)).to_have_count(1, timeout=RESULT_WAIT_MS)
        # (This test's minutes passed on the device's clock alone: now it agrees with the host.)
        page.clock.set_system_time(dt.datetime.now(dt.UTC))
        context.unroute("**/punch")
        expect(saved_rows(page)).to_have_count(0, timeout=RESEND_WAIT_MS)
    finally:
        context.close()
    # The worker clocked in when they pressed the button, not when the device gave up.
    [entry] = kiosk.entries(ann.id)
    clock_in = dt.datetime.fromisoformat(entry["clock_in"].replace("Z", "+00:00"))
    assert abs(clock_in - made) < dt.timedelta(minutes=1), (clock_in, made)
