"""The desktop side of the kiosk, through its real widgets: a worker's PIN and printed slip,
a site's kiosk link with its QR poster, the kiosk listener for the local network, who is
expected and not here, and the admin's notification when a shift becomes late or missed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pypdfium2
import pytest
import zxingcpp
from desktop_helpers import (
    STARTS_WITHIN_MS,
    TIMEOUT_MS,
    click_button,
    find_dialog,
    settle,
    visible_message_box,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QLineEdit, QPushButton

from tempclock.api.services import kiosk, pins, shifts
from tempclock.api.services.errors import DomainError
from tempclock_desktop.dialogs.kiosk_link import KioskLinkDialog
from tempclock_desktop.dialogs.pin import PinDialog
from tempclock_desktop.dialogs.worker import WorkerDialog
from tempclock_desktop.server import RUNNING
from tempclock_desktop.settings import load_settings


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return " ".join(document[0].get_textpage().get_text_range().split())
    finally:
        document.close()


def pdf_qr_codes(path: Path) -> list[str]:
    """The QR codes a phone's camera would read off the printed page."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        bitmap = document[0].render(scale=2)
        pixels = bytes(bitmap.buffer)
        image = QImage(pixels, bitmap.width, bitmap.height, bitmap.stride,
                       QImage.Format.Format_BGR888)
        return [code.text for code in zxingcpp.read_barcodes(image.copy())]
    finally:
        document.close()


def pdf_printer(path: Path) -> QPrinter:
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    return printer


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def site_answer(url: str, **options) -> httpx.Response:
    """What the kiosk page asks its link first: the site it clocks at."""
    return httpx.get(f"{url}/site", timeout=10, **options)


@pytest.fixture
def leeds(account, make_location):
    return make_location(account.id, "Leeds Distribution Centre", timezone="Europe/London")


@pytest.fixture
def anna(account, make_worker, leeds):
    return make_worker(account.id, "Anna", "Nowak", location_id=leeds.id)


def open_pin_dialog(qtbot, desktop, worker) -> PinDialog:
    panel = desktop.window.show_panel("workers")
    settle(qtbot)
    panel.select_id(worker.id)
    panel.edit_button.click()
    editor = find_dialog(qtbot, panel, WorkerDialog)
    editor.pin_button.click()
    dialog = find_dialog(qtbot, editor, PinDialog)
    settle(qtbot)
    return dialog


def open_link_dialog(qtbot, desktop, site) -> KioskLinkDialog:
    panel = desktop.window.show_panel("locations")
    settle(qtbot)
    panel.select_id(site.id)
    panel.kiosk_button.click()
    dialog = find_dialog(qtbot, panel, KioskLinkDialog)
    settle(qtbot)
    return dialog


# --- PINs ------------------------------------------------------------------------------


def test_a_pin_typed_in_the_worker_dialog_clocks_that_worker_in_and_its_slip_prints(
        qtbot, start_desktop, account, anna, leeds, tmp_path):
    link = kiosk.create_link(account.id, leeds.id, "http://127.0.0.1:8787")
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, anna)
    assert "has no PIN yet" in dialog.status.text()
    dialog.typed.setChecked(True)
    dialog.pin_field.setText("4821")
    dialog.set_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    assert dialog.pin_text.text() == "4821"
    assert "Shown this once" in " ".join(w.text() for w in dialog.reveal.findChildren(
        type(dialog.pin_text)))
    assert kiosk.punch(token_of(link.url), "4821", "clock_in").first_name == "Anna"

    slip = tmp_path / "slip.pdf"
    dialog.print_to(pdf_printer(slip))
    text = pdf_text(slip)
    assert "Anna Nowak" in text and "4 8 2 1" in text
    assert "Leeds Distribution Centre" in text
    assert "Clock in" in text and "Clock out" in text and "Start break" in text


def test_a_generated_pin_replaces_the_old_one_which_stops_working(
        qtbot, start_desktop, account, anna, leeds, tmp_path):
    token = token_of(kiosk.create_link(account.id, leeds.id, "http://127.0.0.1:8787").url)
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, anna)
    dialog.set_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    first = dialog.pin_text.text()
    assert first.isdigit() and 4 <= len(first) <= 8
    dialog.set_button.click()
    qtbot.waitUntil(lambda: dialog.pin_text.text() != first, timeout=TIMEOUT_MS)
    second = dialog.pin_text.text()
    with pytest.raises(DomainError) as refused:
        kiosk.punch(token, first, "clock_in")
    assert refused.value.code == "wrong_pin"
    assert kiosk.punch(token, second, "clock_in").first_name == "Anna"
    saved = dialog.save_slip(tmp_path / "Anna's slip.pdf")
    assert saved is not None and " ".join(second) in pdf_text(saved)


@pytest.mark.parametrize("typed", ["123", "1", ""])
def test_a_pin_of_the_wrong_length_is_refused_in_words_and_nothing_is_set(
        qtbot, start_desktop, account, anna, typed):
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, anna)
    dialog.typed.setChecked(True)
    dialog.pin_field.setText(typed)
    dialog.set_button.click()
    settle(qtbot)
    assert dialog.error.isVisible() and "4 to 8 digits" in dialog.error.text()
    assert not dialog.reveal.isVisible()
    assert not pins.has_pin(account.id, anna.id)


def test_the_pin_field_takes_digits_only(qtbot, start_desktop, anna):
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, anna)
    qtbot.keyClicks(dialog.pin_field, "12ab 34-5678901")
    assert dialog.pin_field.text() == "12345678"
    dialog.pin_field.clear()
    dialog.pin_field.insert("٣٣٣٣")  # pasted digits of another script
    assert dialog.pin_field.text() == ""


def test_a_pin_another_worker_has_is_refused_and_theirs_keeps_working(
        qtbot, start_desktop, account, anna, leeds, make_worker):
    token = token_of(kiosk.create_link(account.id, leeds.id, "http://127.0.0.1:8787").url)
    pins.set_pin(account.id, anna.id, "5555")
    tomas = make_worker(account.id, "Tomas", "Zukas", location_id=leeds.id)
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, tomas)
    dialog.typed.setChecked(True)
    dialog.pin_field.setText("5555")
    dialog.set_button.click()
    qtbot.waitUntil(dialog.error.isVisible, timeout=TIMEOUT_MS)
    assert not dialog.reveal.isVisible() and dialog.set_button.isEnabled()
    assert "Anna" not in dialog.error.text()  # nobody learns whose PIN it is
    assert not pins.has_pin(account.id, tomas.id)
    assert kiosk.punch(token, "5555", "clock_in").first_name == "Anna"


def test_removing_a_pin_takes_the_worker_off_the_kiosk(
        qtbot, start_desktop, account, anna, leeds):
    token = token_of(kiosk.create_link(account.id, leeds.id, "http://127.0.0.1:8787").url)
    pins.set_pin(account.id, anna.id, "2468")
    desktop = start_desktop()
    dialog = open_pin_dialog(qtbot, desktop, anna)
    assert "has a PIN" in dialog.status.text() and dialog.remove_button.isEnabled()
    dialog.remove_button.click()
    qtbot.waitUntil(lambda: "has no PIN yet" in dialog.status.text(), timeout=TIMEOUT_MS)
    assert not pins.has_pin(account.id, anna.id)
    with pytest.raises(DomainError):
        kiosk.punch(token, "2468", "clock_in")


# --- the site's kiosk link and poster ---------------------------------------------------------


def test_a_sites_kiosk_link_shows_once_with_a_qr_code_and_poster_that_read_back_as_the_link(
        qtbot, start_desktop, account, anna, leeds, tmp_path):
    pins.set_pin(account.id, anna.id, "8642")
    desktop = start_desktop(serve=True)
    dialog = open_link_dialog(qtbot, desktop, leeds)
    assert "no kiosk link yet" in dialog.status.text()
    assert dialog.reach_warning.isVisible()  # the listener is off: this computer only
    dialog.create_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    url = dialog.url_text.text()
    assert url.startswith(desktop.server.url + "/kiosk/")
    assert [c.text for c in zxingcpp.read_barcodes(dialog.qr.pixmap().toImage())] == [url]
    assert kiosk.punch(token_of(url), "8642", "clock_in").first_name == "Anna"
    assert site_answer(url).json()["name"] == "Leeds Distribution Centre"

    poster = dialog.save_poster(tmp_path / "poster.pdf")
    assert pdf_qr_codes(poster) == [url]
    text = pdf_text(poster)
    assert "Leeds Distribution Centre" in text and "Clock in" in text and "PIN" in text
    printed = tmp_path / "printed.pdf"
    dialog.print_to(pdf_printer(printed))
    assert pdf_qr_codes(printed) == [url]
    assert "made" in dialog.status.text() and token_of(url) not in dialog.status.text()


def test_replacing_a_link_stops_the_old_one_at_once_and_revoking_stops_the_new(
        qtbot, start_desktop, account, leeds):
    desktop = start_desktop(serve=True)
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    dialog = open_link_dialog(qtbot, desktop, leeds)
    dialog.create_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    old = dialog.url_text.text()
    assert dialog.create_button.text() == "Replace link…"
    dialog.create_button.click()
    click_button(visible_message_box(qtbot, "stop working at once"), "Replace link")
    qtbot.waitUntil(lambda: dialog.url_text.text() != old, timeout=TIMEOUT_MS)
    new = dialog.url_text.text()
    assert site_answer(old).status_code == 404
    assert site_answer(new).status_code == 200
    dialog.revoke_button.click()
    click_button(visible_message_box(qtbot, "stop working at once"), "Revoke link")
    qtbot.waitUntil(lambda: not dialog.reveal.isVisible(), timeout=TIMEOUT_MS)
    assert site_answer(new).status_code == 404
    assert kiosk.link_info(account.id, leeds.id) is None
    assert "no kiosk link yet" in dialog.status.text()


def test_a_poster_that_cannot_be_written_is_reported_in_words(
        qtbot, start_desktop, leeds, tmp_path):
    desktop = start_desktop()
    dialog = open_link_dialog(qtbot, desktop, leeds)
    dialog.create_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    assert dialog.save_poster(tmp_path / "no such folder" / "poster.pdf") is None
    assert dialog.error.isVisible() and "refused" in dialog.error.text()


# --- the kiosk listener ------------------------------------------------------------------------


def free_port() -> int:
    from tempclock_desktop.server import free_port_near

    port = free_port_near("127.0.0.1", 18_788)
    assert port is not None
    return port


def test_the_kiosk_listener_serves_the_kiosk_and_nothing_of_the_api_and_comes_back_after_restart(
        qtbot, start_desktop, config, account, leeds):
    link = kiosk.create_link(account.id, leeds.id, "http://unused")
    desktop = start_desktop(serve=True)
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    card = desktop.window.show_panel("server").kiosk_card
    assert not card.fields.isVisible()
    card.offer.setChecked(True)
    assert card.no_tls_warning.isVisible()
    assert "unencrypted" in card.no_tls_warning.text.text()
    port = free_port()
    card.host.setText("127.0.0.1")
    card.port.setValue(port)
    assert card.save()
    listener = desktop.window.kiosk
    qtbot.waitUntil(lambda: listener.state == RUNNING, timeout=STARTS_WITHIN_MS)
    base = f"http://127.0.0.1:{port}"
    assert f"reach the kiosk at {base}" in card.status.text()
    assert site_answer(f"{base}/kiosk/{token_of(link.url)}").status_code == 200
    assert httpx.get(f"{base}/api/v1/workers", timeout=10).status_code == 404
    assert httpx.get(f"{base}/docs", timeout=10).status_code == 404
    saved = load_settings(config)
    assert (saved.kiosk_host, saved.kiosk_port) == ("127.0.0.1", port)

    desktop.stop()
    again = start_desktop(serve=True)
    qtbot.waitUntil(lambda: again.window.kiosk.state == RUNNING, timeout=STARTS_WITHIN_MS)
    assert site_answer(f"{base}/kiosk/{token_of(link.url)}").status_code == 200


def test_a_new_kiosk_link_points_at_the_kiosk_listener_when_it_is_on(
        qtbot, start_desktop, leeds):
    desktop = start_desktop(serve=True)
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    card = desktop.window.show_panel("server").kiosk_card
    card.offer.setChecked(True)
    port = free_port()
    card.host.setText("127.0.0.1")
    card.port.setValue(port)
    card.save()
    qtbot.waitUntil(lambda: desktop.window.kiosk.state == RUNNING, timeout=STARTS_WITHIN_MS)
    dialog = open_link_dialog(qtbot, desktop, leeds)
    assert not dialog.reach_warning.isVisible()
    dialog.create_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    assert dialog.url_text.text().startswith(f"http://127.0.0.1:{port}/kiosk/")
    assert site_answer(dialog.url_text.text()).status_code == 200


def test_the_kiosk_listener_serves_https_with_a_certificate_and_drops_the_warning(
        qtbot, start_desktop, account, leeds, certificate):
    import ssl

    cert, key = certificate
    link = kiosk.create_link(account.id, leeds.id, "http://unused")
    desktop = start_desktop(serve=True)
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    card = desktop.window.show_panel("server").kiosk_card
    card.offer.setChecked(True)
    card.host.setText("127.0.0.1")
    port = free_port()
    card.port.setValue(port)
    card.certfile.setText(str(cert))
    card.keyfile.setText(str(key))
    assert not card.no_tls_warning.isVisible()
    assert card.save()
    qtbot.waitUntil(lambda: desktop.window.kiosk.state == RUNNING, timeout=STARTS_WITHIN_MS)
    trusted = ssl.create_default_context(cafile=str(cert))
    answer = site_answer(f"https://127.0.0.1:{port}/kiosk/{token_of(link.url)}", verify=trusted)
    assert answer.json()["name"] == "Leeds Distribution Centre"


@pytest.mark.parametrize(("host", "same_port", "cert", "key", "says"), [
    ("0.0.0.0", True, "", "", "a port of its own"),
    ("0.0.0.0", False, "cert", "", "both the certificate and its private key"),
    ("0.0.0.0", False, "missing", "missing", "No such file"),
    ("not an address!", False, "", "", "Give an address"),
    ("", False, "", "", "Give an address"),
])
def test_kiosk_settings_that_cannot_work_are_refused_in_words_and_not_saved(
        qtbot, start_desktop, config, certificate, host, same_port, cert, key, says):
    files = {"cert": str(certificate[0]), "missing": "/nowhere/cert.pem", "": ""}
    desktop = start_desktop()
    card = desktop.window.show_panel("server").kiosk_card
    card.offer.setChecked(True)
    card.host.setText(host)
    card.port.setValue(desktop.session.settings.port if same_port else free_port())
    card.certfile.setText(files[cert])
    card.keyfile.setText(files[key])
    assert not card.save()
    assert card.refusal.isVisible() and says in card.refusal.text()
    assert load_settings(config).kiosk_host is None


def test_a_kiosk_port_in_use_is_reported_in_words(qtbot, start_desktop):
    from tempclock.api.sockets import bound_socket
    from tempclock_desktop.server import FAILED

    taken = bound_socket("127.0.0.1", 0)
    taken.listen()
    try:
        desktop = start_desktop(serve=True)
        qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
        card = desktop.window.show_panel("server").kiosk_card
        card.offer.setChecked(True)
        card.host.setText("127.0.0.1")
        card.port.setValue(taken.getsockname()[1])
        card.save()
        qtbot.waitUntil(lambda: desktop.window.kiosk.state == FAILED, timeout=STARTS_WITHIN_MS)
        assert "already in use by another program" in card.status.text()
        assert desktop.server.state == RUNNING  # the API is not disturbed
    finally:
        taken.close()


# --- expected, not here ---------------------------------------------------------------------


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)


def schedule(account_id: int, worker, site, start: dt.datetime, end: dt.datetime):
    return shifts.create_shift(account_id, shifts.ShiftCreate(
        location_id=site.id, worker_id=worker.id, start=start, end=end))


def local_clock(moment: dt.datetime, site) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(site.timezone)).strftime("%H:%M")


def test_the_on_site_board_names_who_is_late_and_who_missed_a_shift_in_site_time(
        qtbot, start_desktop, account, anna, leeds, make_worker, make_location):
    warsaw = make_location(account.id, "Warsaw Fulfilment Hub", timezone="Europe/Warsaw")
    piotr = make_worker(account.id, "Piotr", "Zielinski", location_id=warsaw.id)
    now = now_utc()
    late_start = now - dt.timedelta(minutes=40)
    schedule(account.id, anna, leeds, late_start, now + dt.timedelta(hours=6))
    missed_start, missed_end = now - dt.timedelta(hours=9), now - dt.timedelta(hours=1)
    schedule(account.id, piotr, warsaw, missed_start, missed_end)
    desktop = start_desktop()
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 2, timeout=TIMEOUT_MS)
    lines = {card.site.name: card.expected_lines for card in panel.cards}
    assert lines["Leeds Distribution Centre"] == [
        f"Anna Nowak — shift started {local_clock(late_start, leeds)}, not clocked in"]
    assert lines["Warsaw Fulfilment Hub"] == [
        f"Piotr Zielinski — shift {local_clock(missed_start, warsaw)}–"
        f"{local_clock(missed_end, warsaw)} missed, never clocked in"]
    assert "2 expected, not here" in panel.total.text()


def test_a_worker_who_clocked_in_is_not_listed_as_expected(
        qtbot, start_desktop, account, anna, leeds):
    from tempclock.api.services import clocking

    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    clocking.clock_in(account.id, anna.id, location_id=leeds.id)
    desktop = start_desktop()
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=TIMEOUT_MS)
    assert panel.cards[0].expected_lines == []
    assert "expected" not in panel.total.text()


# --- the admin's notification -------------------------------------------------------------------


def test_the_admin_is_told_once_when_a_shift_is_late_and_once_more_when_it_is_missed(
        qtbot, start_desktop, account, anna, leeds):
    now = now_utc()
    shift = schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40),
                     now + dt.timedelta(hours=6))
    desktop = start_desktop()
    alerts = desktop.window.lateness_alerts
    settle(qtbot)  # the first look happens as the account opens
    assert alerts.history == [("Anna Nowak is late", "Leeds Distribution Centre: Anna Nowak — "
                               f"shift started {local_clock(shift.start, leeds)}, not clocked "
                               "in.")]
    assert alerts.banner.isVisible()  # no system tray offscreen: a banner in the window
    assert "Anna Nowak is late" in alerts.banner.text.text()
    alerts.check()
    settle(qtbot)
    assert len(alerts.history) == 1

    shifts.update_shift(account.id, shift.id, shifts.ShiftUpdate(
        start=now - dt.timedelta(hours=9), end=now - dt.timedelta(minutes=30)))
    alerts.check()
    settle(qtbot)
    assert [title for title, _ in alerts.history] == ["Anna Nowak is late",
                                                      "Anna Nowak missed a shift"]
    alerts.check()
    settle(qtbot)
    assert len(alerts.history) == 2


def test_a_shift_already_announced_is_not_announced_again_after_a_restart(
        qtbot, start_desktop, account, anna, leeds):
    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    first = start_desktop()
    settle(qtbot)
    assert [title for title, _ in first.window.lateness_alerts.history] == ["Anna Nowak is late"]
    first.stop()

    again = start_desktop()
    settle(qtbot)
    again.window.lateness_alerts.check()
    settle(qtbot)
    assert again.window.lateness_alerts.history == []
    assert not again.window.lateness_alerts.banner.isVisible()


def test_several_new_late_shifts_come_as_one_notification(
        qtbot, start_desktop, account, leeds, make_worker):
    now = now_utc()
    for n in range(5):
        worker = make_worker(account.id, f"Worker{n}", "Late", location_id=leeds.id)
        schedule(account.id, worker, leeds, now - dt.timedelta(minutes=30 + n),
                 now + dt.timedelta(hours=6))
    desktop = start_desktop()
    settle(qtbot)
    [(title, text)] = desktop.window.lateness_alerts.history
    assert title == "5 workers expected and not here"
    assert text.count("not clocked in") == 3 and "and 2 more" in text


def test_the_banner_opens_the_on_site_board(qtbot, start_desktop, account, anna, leeds):
    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    desktop = start_desktop()
    window = desktop.window
    window.show_panel("workers")
    settle(qtbot)
    qtbot.waitUntil(window.lateness_alerts.banner.isVisible, timeout=TIMEOUT_MS)
    show = next(b for b in window.lateness_alerts.banner.findChildren(QPushButton)
                if b.text() == "Show on site now")
    show.click()
    assert window.stack.currentWidget() is window.panel("on_site")
    assert not window.lateness_alerts.banner.isVisible()


def test_with_a_system_tray_the_notification_is_a_tray_message_not_a_banner(
        qtbot, start_desktop, account, anna, leeds):
    from PySide6.QtWidgets import QSystemTrayIcon

    from tempclock_desktop.lateness_alerts import LatenessAlerts

    desktop = start_desktop()
    settle(qtbot)
    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    alerts = LatenessAlerts(desktop.session, QSystemTrayIcon(desktop.window), desktop.window)
    alerts.check()
    settle(qtbot)
    assert [title for title, _ in alerts.history] == ["Anna Nowak is late"]
    assert not alerts.banner.isVisible()


def test_the_kiosk_listener_stops_with_the_api_and_starts_with_it(qtbot, start_desktop):
    from tempclock_desktop.server import STOPPED

    desktop = start_desktop(serve=True)
    qtbot.waitUntil(lambda: desktop.server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    card = desktop.window.show_panel("server").kiosk_card
    card.offer.setChecked(True)
    card.host.setText("127.0.0.1")
    card.port.setValue(free_port())
    card.save()
    listener = desktop.window.kiosk
    qtbot.waitUntil(lambda: listener.state == RUNNING, timeout=STARTS_WITHIN_MS)
    desktop.server.stop()
    qtbot.waitUntil(lambda: listener.state == STOPPED and desktop.server.state == STOPPED,
                    timeout=TIMEOUT_MS)
    desktop.window.panel("server").start_server()
    qtbot.waitUntil(lambda: listener.state == RUNNING, timeout=STARTS_WITHIN_MS)
    card.offer.setChecked(False)
    card.save()
    qtbot.waitUntil(lambda: listener.state == STOPPED, timeout=TIMEOUT_MS)
    assert "Off" in card.status.text()


def test_names_that_look_like_markup_show_as_typed_in_the_notice_and_on_the_board(
        qtbot, start_desktop, account, make_worker, leeds):
    worker = make_worker(account.id, "<b>Bold</b>", "<i>Name</i>", location_id=leeds.id)
    now = now_utc()
    schedule(account.id, worker, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    desktop = start_desktop()
    settle(qtbot)
    banner = desktop.window.lateness_alerts.banner
    assert "&lt;b&gt;Bold&lt;/b&gt;" in banner.text.text()  # escaped in the rich text
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=TIMEOUT_MS)
    assert panel.cards[0].expected_lines[0].startswith("<b>Bold</b> <i>Name</i> — shift")
    shown = [w.text() for w in panel.cards[0].findChildren(type(banner.text))
             if "shift started" in w.text()]
    assert shown and all(w.textFormat() == Qt.TextFormat.PlainText
                         for w in panel.cards[0].findChildren(type(banner.text))
                         if "shift started" in w.text())


def test_a_queued_kiosk_punch_too_old_for_the_site_is_on_the_board_and_told_once(
        qtbot, start_desktop, account, anna, leeds):
    token = token_of(kiosk.create_link(account.id, leeds.id, "http://127.0.0.1:8787").url)
    pins.set_pin(account.id, anna.id, "1357")
    made = now_utc() - dt.timedelta(days=2)
    with pytest.raises(DomainError) as refused:
        kiosk.punch(token, "1357", "clock_in", device_time=made, idempotency_key="tablet-1:42")
    assert refused.value.code == "outside_backdating_window"
    desktop = start_desktop()
    settle(qtbot)
    alerts = desktop.window.lateness_alerts
    [(title, text)] = alerts.history
    assert title == "A kiosk punch was refused"
    assert text.startswith("Leeds Distribution Centre: Anna Nowak — clock in of ")
    panel = desktop.window.show_panel("on_site")
    settle(qtbot)
    qtbot.waitUntil(lambda: len(panel.cards) == 1, timeout=TIMEOUT_MS)
    [line] = panel.cards[0].refused_lines
    assert line.endswith("sent later from the kiosk, refused: older than the site's "
                         "backdating limit")
    alerts.check()
    settle(qtbot)
    assert len(alerts.history) == 1


def test_the_banner_keeps_earlier_news_until_the_admin_dismisses_it(
        qtbot, start_desktop, account, anna, leeds, make_worker):
    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=40), now + dt.timedelta(hours=6))
    desktop = start_desktop()
    settle(qtbot)
    alerts = desktop.window.lateness_alerts
    tomas = make_worker(account.id, "Tomas", "Zukas", location_id=leeds.id)
    schedule(account.id, tomas, leeds, now - dt.timedelta(minutes=20), now + dt.timedelta(hours=6))
    alerts.check()
    settle(qtbot)
    shown = alerts.banner.text.text()
    assert "2 workers expected and not here" in shown
    assert "Anna Nowak" in shown and "Tomas Zukas" in shown
    alerts.dismiss()
    assert not alerts.banner.isVisible()
    ola = make_worker(account.id, "Ola", "Kowalska", location_id=leeds.id)
    schedule(account.id, ola, leeds, now - dt.timedelta(minutes=15), now + dt.timedelta(hours=6))
    alerts.check()
    settle(qtbot)
    shown = alerts.banner.text.text()
    assert "Ola Kowalska is late" in shown and "Anna" not in shown


def test_the_print_dialog_prints_the_poster_and_a_printer_that_cannot_write_is_reported(
        qtbot, start_desktop, leeds, tmp_path):
    from PySide6.QtPrintSupport import QPrintDialog

    desktop = start_desktop()
    dialog = open_link_dialog(qtbot, desktop, leeds)
    dialog.create_button.click()
    qtbot.waitUntil(dialog.reveal.isVisible, timeout=TIMEOUT_MS)
    dialog.print_button.click()
    chooser = find_dialog(qtbot, dialog, QPrintDialog)
    printed = tmp_path / "printed.pdf"
    # No printer here but Qt's own "Print to File (PDF)": the admin types where.
    chooser.findChild(QLineEdit, "filename").setText(str(printed))
    chooser.accept()
    assert pdf_qr_codes(printed) == [dialog.url_text.text()]
    assert "Leeds Distribution Centre" in pdf_text(printed)

    dialog.print_button.click()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in dialog.findChildren(QPrintDialog)),
                    timeout=TIMEOUT_MS)
    chooser = next(d for d in dialog.findChildren(QPrintDialog) if d.isVisible())
    chooser.findChild(QLineEdit, "filename").setText(str(tmp_path / "no such folder" / "x.pdf"))
    chooser.accept()
    visible_message_box(qtbot, "Not printed")


def test_a_sites_grace_minutes_set_in_its_kiosk_dialog_decide_who_is_late(
        qtbot, start_desktop, account, anna, leeds):
    from tempclock.api.services import lateness

    now = now_utc()
    schedule(account.id, anna, leeds, now - dt.timedelta(minutes=20), now + dt.timedelta(hours=6))
    assert [e.worker_name for e in lateness.expected_not_here(account.id)] == ["Anna Nowak"]
    desktop = start_desktop()
    dialog = open_link_dialog(qtbot, desktop, leeds)
    assert dialog.grace.value() == 10
    dialog.grace.setValue(30)
    dialog.grace_button.click()
    qtbot.waitUntil(lambda: "Saved" in dialog.grace_saved.text(), timeout=TIMEOUT_MS)
    assert lateness.grace_minutes(account.id, leeds.id) == 30
    assert lateness.expected_not_here(account.id) == []
    dialog.accept()
    again = open_link_dialog(qtbot, desktop, leeds)
    assert again.grace.value() == 30
