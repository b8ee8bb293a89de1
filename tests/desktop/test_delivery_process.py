"""The event dispatcher process the app runs beside the API: started with the API, shown
next to the server's state, reported when it dies and restarted on request, stopped on quit."""

from __future__ import annotations

import os
import signal

from desktop_helpers import STARTS_WITHIN_MS

from tempclock_desktop import dispatcher as delivery


def test_the_app_runs_the_dispatcher_with_the_api_restarts_it_when_asked_and_stops_it(
        qtbot, start_desktop):
    desktop = start_desktop()  # the API is not started: nor is delivery
    dispatcher, window = desktop.dispatcher, desktop.window
    assert dispatcher.state == delivery.STOPPED
    assert "Webhook delivery off" in window.delivery_status.text()
    server_panel = window.show_panel("server")
    assert server_panel.restart_delivery_button.text() == "Start delivery"
    server_panel.start_server(port=0)
    qtbot.waitUntil(lambda: dispatcher.running, timeout=STARTS_WITHIN_MS)
    assert "Webhook delivery on" in window.delivery_status.text()
    assert "Webhook delivery on" in window.server_pill.text()
    assert server_panel.delivery_label.text() == "Webhook delivery is on"
    assert f"process {dispatcher.pid}" in server_panel.delivery_text.toolTip()  # one hover away
    assert not server_panel.restart_delivery_button.isVisible()

    first = dispatcher.pid
    os.kill(first, signal.SIGKILL)
    qtbot.waitUntil(lambda: dispatcher.state == delivery.FAILED, timeout=STARTS_WITHIN_MS)
    assert "stopped unexpectedly (exit code -9)" in window.delivery_status.text()
    assert "stopped unexpectedly" in server_panel.delivery_label.text()
    assert server_panel.restart_delivery_button.isVisible()

    server_panel.restart_delivery_button.click()
    assert dispatcher.running and dispatcher.pid != first
    assert "Webhook delivery on" in window.delivery_status.text()
    second = dispatcher.pid

    desktop.stop()  # quitting stops it: the process has exited and was reaped
    assert dispatcher.state == delivery.STOPPED
    try:
        os.kill(second, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"dispatcher process {second} still exists")
