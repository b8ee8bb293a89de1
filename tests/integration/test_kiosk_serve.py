"""`tempclock serve` with the kiosk listener, and late/missed events across a restart.

Real processes: the server, its dispatcher, and the admin's CLI in a third process (a
revoke there reaches the server's next request, whatever it had seen before).
"""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
import sys
import time

import httpx
import msgspec
import pytest
from serving import Server, free_port

from tempclock.api.services import accounts, kiosk, locations, pins, shifts, workers
from tempclock.api.store import close_store, open_store
from tempclock.api.store.models import Event

STOP_WITHIN_S = 5.0


def serving(config, *args: str, scheme: str = "http") -> Server:
    """`tempclock serve` with `args` in a process group of its own."""
    return Server(config, config.data_dir.parent / "serve.log", *args, own_group=True,
                  scheme=scheme, verify=False)


@pytest.fixture
def site_with_kiosk(config):
    """A site with a kiosk link and a worker with PIN 2468; the store closed again."""
    open_store(config)
    try:
        account = accounts.create_account("Acme", api_enabled=True)
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds", timezone="Europe/London"))
        worker = workers.create_worker(account.id, workers.WorkerCreate(
            first_name="Ann", last_name="Nowak", location_id=site.id))
        pins.set_pin(account.id, worker.id, "2468")
        token = kiosk.create_link(account.id, site.id, "http://x").url.rsplit("/", 1)[1]
    finally:
        close_store()
    return site, token


def test_the_kiosk_listener_serves_only_the_kiosk_and_warns_without_tls(config,
                                                                           site_with_kiosk):
    site, token = site_with_kiosk
    port = free_port()
    served = serving(config, "--kiosk-host", "127.0.0.1", "--kiosk-port", str(port))
    try:
        kiosk_url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{kiosk_url}/kiosk/{token}/site").json()["name"] == "Leeds"
        punched = httpx.post(f"{kiosk_url}/kiosk/{token}/punch",
                             json={"pin": "2468", "action": "clock_in"})
        assert punched.status_code == 200, punched.text
        for path in ("/api/v1/workers", "/docs", "/api/v1/openapi.json"):
            assert httpx.get(f"{kiosk_url}{path}").status_code == 404, path
        # The API's own listener serves the kiosk too, for the office PC.
        assert httpx.get(f"{served.url}/kiosk/{token}/site").status_code == 200
        # The admin revokes from another process: refused on the next request, both listeners.
        subprocess.run([sys.executable, "-m", "tempclock.api.cli", "kiosk", "revoke",
                        "--location", str(site.id), "--data-dir", str(config.data_dir)],
                       check=True, capture_output=True, timeout=60)
        assert httpx.get(f"{kiosk_url}/kiosk/{token}/site").status_code == 404
        assert httpx.get(f"{served.url}/kiosk/{token}/site").status_code == 404
    finally:
        took = served.stop()
    assert took < STOP_WITHIN_S, served.output
    assert "not encrypted" in served.output
    assert token not in served.output


def test_the_kiosk_listener_serves_https_with_a_certificate(config, site_with_kiosk,
                                                             certificate):
    _, token = site_with_kiosk
    cert, key = certificate
    port = free_port()
    served = serving(config, "--kiosk-host", "127.0.0.1", "--kiosk-port", str(port),
                     "--certfile", str(cert), "--keyfile", str(key), scheme="https")
    try:
        context = ssl.create_default_context(cafile=str(cert))
        site = httpx.get(f"https://127.0.0.1:{port}/kiosk/{token}/site", verify=context)
        assert site.json()["name"] == "Leeds"
    finally:
        served.stop()  # (how fast: the test above; TLS adds nothing of the kiosk's own)
    assert "not encrypted" not in served.output


def test_a_kiosk_port_in_use_is_one_error_line(config, site_with_kiosk):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "tempclock.api.cli", "serve", "--port", str(free_port()),
             "--data-dir", str(config.data_dir), "--kiosk-host", "127.0.0.1",
             "--kiosk-port", str(port), "--no-dispatch"],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"could not serve the kiosk on 127.0.0.1:{port}" in result.stderr


def late_events(config) -> list[dict]:
    open_store(config)
    try:
        return [{"type": e.type, **msgspec.json.decode(e.data)} for e in
                Event.select().where(Event.type.in_(["shift_late", "shift_missed"]))
                .order_by(Event.id)]
    finally:
        close_store()


def wait_for_events(config, count: int, timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    while (found := late_events(config)) and len(found) < count or not found:
        if time.monotonic() > deadline:
            break
        time.sleep(0.5)
    return found


def add_late_shift(config, minutes_ago: int) -> int:
    open_store(config)
    try:
        account = accounts.list_accounts()[0]
        site = locations.list_locations(account.id).data[0]
        worker = workers.create_worker(account.id, workers.WorkerCreate(
            first_name="Late", last_name=str(minutes_ago), location_id=site.id))
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)
        return shifts.create_shift(account.id, shifts.ShiftCreate(
            location_id=site.id, worker_id=worker.id, start=start,
            end=start + dt.timedelta(hours=4))).id
    finally:
        close_store()


def test_late_events_fire_once_per_shift_across_a_restart_of_serve(config, site_with_kiosk):
    first_shift = add_late_shift(config, 20)
    served = serving(config)
    try:
        seen = wait_for_events(config, 1)
    finally:
        served.stop()
    assert [(e["type"], e["shift_id"]) for e in seen] == [("shift_late", first_shift)]
    # Another late shift: once the restarted server has announced it, it has swept, and the
    # first shift must not have been announced again.
    second_shift = add_late_shift(config, 30)
    served = serving(config)
    try:
        seen = wait_for_events(config, 2)
        time.sleep(1)
        seen = late_events(config)
    finally:
        served.stop()
    assert [(e["type"], e["shift_id"]) for e in seen] == [
        ("shift_late", first_shift), ("shift_late", second_shift)]
