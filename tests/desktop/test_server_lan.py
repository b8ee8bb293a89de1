"""The Server panel's LAN switch: what exposing the API means, and HTTPS with the admin's
certificate."""

from __future__ import annotations

import ssl

import httpx
from desktop_helpers import STARTS_WITHIN_MS

from tempclock_desktop.server import RUNNING


def test_the_lan_choice_explains_the_exposure_and_offers_https(qtbot, start_desktop):
    desktop = start_desktop()
    panel = desktop.window.show_panel("server")
    assert not panel.tls_fields.isVisible()
    panel.lan.setChecked(True)
    assert panel.lan_warning.isVisible() and panel.tls_fields.isVisible()
    text = panel.lan_warning.text.text()
    assert "Other computers on your network" in text
    assert "unencrypted" in text and "HTTPS" in text
    panel.loopback.setChecked(True)
    assert not panel.tls_fields.isVisible()


def test_a_certificate_without_its_key_is_refused_and_nothing_is_saved(qtbot, start_desktop,
                                                                        certificate):
    cert, _ = certificate
    desktop = start_desktop()
    panel = desktop.window.show_panel("server")
    panel.lan.setChecked(True)
    panel.certfile.setText(str(cert))
    panel.apply_button.click()
    assert panel.tls_error.isVisible()
    assert "both the certificate and its private key" in panel.tls_error.text()
    assert not desktop.session.settings.lan_exposed
    assert desktop.session.settings.certfile is None


def test_on_the_lan_with_a_certificate_the_api_is_served_over_https(qtbot, start_desktop,
                                                                    certificate):
    cert, key = certificate
    desktop = start_desktop(serve=True)
    server, panel = desktop.server, desktop.window.show_panel("server")
    qtbot.waitUntil(lambda: server.state == RUNNING, timeout=STARTS_WITHIN_MS)
    panel.lan.setChecked(True)
    panel.certfile.setText(str(cert))
    panel.keyfile.setText(str(key))
    panel.apply_button.click()
    qtbot.waitUntil(lambda: server.state == RUNNING and server.host == "0.0.0.0",
                    timeout=STARTS_WITHIN_MS)
    assert server.url.startswith("https://127.0.0.1:")
    trusted = ssl.create_default_context(cafile=str(cert))
    answer = httpx.get(f"{server.url}/api/v1/workers", verify=trusted, timeout=10)
    assert answer.status_code == 401
    assert "over HTTPS" in panel.exposure_label.text()
    settings = desktop.session.settings
    assert (settings.certfile, settings.keyfile) == (str(cert), str(key))
