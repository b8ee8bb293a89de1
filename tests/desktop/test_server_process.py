"""The API server embedded in the desktop app leaves the GUI process as Python set it up, and
refuses oversized request headers like `tempclock serve` does."""

from __future__ import annotations

import sys

from tempclock_desktop.server import RUNNING

PYTHON_DEFAULT_SWITCH_INTERVAL_S = 0.005


def test_serving_the_api_leaves_the_gui_process_on_pythons_switch_interval(start_desktop,
                                                                           api_client):
    sys.setswitchinterval(PYTHON_DEFAULT_SWITCH_INTERVAL_S)  # whatever another test did
    desktop = start_desktop(serve=True)
    assert desktop.server.state == RUNNING
    assert api_client(desktop.server.url).get("/api/v1/workers").status_code == 401
    assert sys.getswitchinterval() == PYTHON_DEFAULT_SWITCH_INTERVAL_S


def test_the_desktops_api_refuses_request_headers_over_64_kib(start_desktop, api_client):
    desktop = start_desktop(serve=True)
    client = api_client(desktop.server.url)
    refused = client.get("/api/v1/workers", headers={"X-Flood": "f" * (70 * 1024)})
    assert refused.status_code == 431 and refused.json()["code"] == "headers_too_large"
    assert client.get("/api/v1/workers").status_code == 401
