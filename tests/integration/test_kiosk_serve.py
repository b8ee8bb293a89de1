"""`tempclock serve` with the kiosk listener, and late/missed events across a restart.

Real processes: the server, its dispatcher, and the admin's CLI in a third process (a
revoke there reaches the server's next request, whatever it had seen before).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import msgspec
import pytest
import store_backends
from serving import Server, free_port, group_is_gone, listening_child

from tempclock.api.services import accounts, kiosk, locations, pins, shifts, workers
from tempclock.api.store import close_store, open_store
from tempclock.api.store.models import Event, TimeEntry

STOP_WITHIN_S = 5.0


_logs = itertools.count()


def serving(config, *args: str, scheme: str = "http") -> Server:
    """`tempclock serve` with `args` in a process group of its own (`scheme`: its API's)."""
    log = config.data_dir.parent / f"serve-{next(_logs)}.log"
    return Server(config, log, *args, own_group=True, scheme=scheme, verify=False)


def kiosk_site(config, pins_by_name: dict[str, str]):
    """A site with a kiosk link and a worker of each first name with its PIN; returns the
    site and the link's token, the store closed again."""
    open_store(config)
    try:
        account = accounts.create_account("Acme", api_enabled=True)
        site = locations.create_location(account.id, locations.LocationCreate(
            name="Leeds", timezone="Europe/London"))
        for name, pin in pins_by_name.items():
            worker = workers.create_worker(account.id, workers.WorkerCreate(
                first_name=name, last_name="Nowak", location_id=site.id))
            pins.set_pin(account.id, worker.id, pin)
        token = kiosk.create_link(account.id, site.id, "http://x").url.rsplit("/", 1)[1]
    finally:
        close_store()
    return site, token


@pytest.fixture
def site_with_kiosk(config):
    """A site with a kiosk link and a worker with PIN 2468."""
    return kiosk_site(config, {"Ann": "2468"})


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


# --- the kiosk listener's own process ------------------------------------------------


def punch(kiosk_url: str, token: str, pin: str, timeout: float = 10) -> httpx.Response:
    return httpx.post(f"{kiosk_url}/kiosk/{token}/punch", json={"pin": pin, "action": "clock_in"},
                      timeout=timeout)


def serve_with_kiosk(config, *args: str) -> tuple[Server, str]:
    port = free_port()
    served = serving(config, "--kiosk-host", "127.0.0.1", "--kiosk-port", str(port),
                     *args)
    return served, f"http://127.0.0.1:{port}"


def wait_for_kiosk(kiosk_url: str, token: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{kiosk_url}/kiosk/{token}/site", timeout=5).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


@contextlib.contextmanager
def kiosk_answering(config, token: str, *args: str) -> Iterator[tuple[Server, str]]:
    """`serve` with a kiosk listener answering `token`'s page; stopped within 5 s after."""
    served, kiosk_url = serve_with_kiosk(config, *args)
    try:
        assert wait_for_kiosk(kiosk_url, token), served.output
        yield served, kiosk_url
    finally:
        took = served.stop()
    assert took < STOP_WITHIN_S, served.output


@pytest.mark.sqlite_only
def test_the_kiosk_listener_runs_in_a_process_of_its_own_and_is_restarted_when_it_dies(
        config, site_with_kiosk):
    _, token = site_with_kiosk
    with kiosk_answering(config, token, "--no-dispatch") as (served, kiosk_url):
        first = listening_child(served.process.pid, int(kiosk_url.rsplit(":", 1)[1]))
        assert first is not None and first != served.process.pid
        os.kill(first, signal.SIGKILL)
        assert wait_for_kiosk(kiosk_url, token), served.output
        assert punch(kiosk_url, token, "2468").status_code == 200
        second = listening_child(served.process.pid, int(kiosk_url.rsplit(":", 1)[1]))
        assert second not in (None, first)
        # The API never stopped answering meanwhile.
        assert httpx.get(f"{served.url}/docs").status_code == 200
    assert "kiosk listener" in served.output and "stopped unexpectedly" in served.output


@pytest.fixture
def crowd(config):
    """A site with a kiosk link and 300 workers W0..W299 with PINs 5000 + n; its token."""
    return kiosk_site(config, {f"W{n}": str(5000 + n) for n in range(300)})[1]


def clocked_in(config) -> set[str]:
    open_store(config)
    try:
        return {f"{e.worker.first_name}" for e in TimeEntry.select()}
    finally:
        close_store()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("whom", ["serve", "group"])
def test_sigterm_stops_serve_and_its_kiosk_within_5_s_keeping_every_acknowledged_punch(
        config, crowd, whom):
    token = crowd
    served, kiosk_url = serve_with_kiosk(config, "--no-dispatch")
    acknowledged: list[str] = []
    stop = threading.Event()

    def clock_the_crowd(first: int) -> None:
        for n in range(first, 300, 4):
            if stop.is_set():
                return
            try:
                if punch(kiosk_url, token, str(5000 + n)).status_code == 200:
                    acknowledged.append(f"W{n}")
            except httpx.TransportError:
                return

    try:
        assert wait_for_kiosk(kiosk_url, token)
        clients = [threading.Thread(target=clock_the_crowd, args=(k,)) for k in range(4)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        if whom == "group":
            os.killpg(served.process.pid, signal.SIGTERM)
        else:
            served.process.send_signal(signal.SIGTERM)
        served.process.wait(30)
        assert group_is_gone(served.process.pid, 30)
        took = time.monotonic() - started
    finally:
        stop.set()
        served.stop()
    for client in clients:
        client.join(30)
    assert took < STOP_WITHIN_S, served.output
    assert len(acknowledged) >= 20
    assert set(acknowledged) <= clocked_in(config)


@pytest.mark.postgres_only
def test_the_kiosk_listener_serves_beside_several_workers(config, site_with_kiosk,
                                                           monkeypatch):
    if store_backends.REDIS_URL is None:
        pytest.skip(store_backends.NO_REDIS)
    monkeypatch.setenv("TEMPCLOCK_REDIS_URL", store_backends.REDIS_URL)
    _, token = site_with_kiosk
    with kiosk_answering(config, token, "--workers", "2", "--no-dispatch") as (_, kiosk_url):
        assert punch(kiosk_url, token, "2468").status_code == 200


@pytest.mark.sqlite_only
def test_wrong_pins_sent_at_once_through_both_listeners_all_count_towards_the_lock(
        config, site_with_kiosk):
    _, token = site_with_kiosk
    with kiosk_answering(config, token, "--no-dispatch") as (served, kiosk_url):
        urls = [kiosk_url, served.url] * 3
        barrier = threading.Barrier(5)
        answers: list[int] = []

        def wrong_pin(url: str) -> None:
            barrier.wait(30)
            answers.append(punch(url, token, "0000", timeout=30).status_code)

        senders = [threading.Thread(target=wrong_pin, args=(url,)) for url in urls[:5]]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
        # The two processes each read the count inside the write transaction: none is lost.
        assert sorted(answers) == [401, 401, 401, 401, 429]
        assert punch(kiosk_url, token, "2468").status_code == 429


@pytest.mark.sqlite_only
def test_a_key_file_that_is_no_key_is_one_error_line_not_a_listener_dying_again(
        config, site_with_kiosk, certificate, tmp_path):
    cert, _ = certificate
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text("this is the certificate's README, not its key\n")
    result = subprocess.run(
        [sys.executable, "-m", "tempclock.api.cli", "serve", "--port", str(free_port()),
         "--data-dir", str(config.data_dir), "--kiosk-host", "127.0.0.1",
         "--kiosk-port", str(free_port()), "--certfile", str(cert), "--keyfile", str(not_a_key),
         "--no-dispatch"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "cannot serve the kiosk over HTTPS" in result.stderr
    assert "stopped unexpectedly" not in result.stderr


@pytest.mark.sqlite_only
def test_a_flood_of_bad_requests_to_the_kiosk_writes_a_few_log_lines_not_one_each(
        config, site_with_kiosk):
    # The kiosk listener faces the local network: any device on it could otherwise fill the
    # host's log (or the journal's rate limit, which then drops our own lines) at will.
    import socket

    _, token = site_with_kiosk
    bad = {"upgrade": f"GET /kiosk/{token}/site HTTP/1.1\r\nHost: x\r\n"
                      "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n".encode(),
           "malformed": f"GET /kiosk/{token}/\x01site HTTP/1.1\r\nHost: x\r\n\r\n".encode()}
    with kiosk_answering(config, token, "--no-dispatch") as (served, kiosk_url):
        port = int(kiosk_url.rsplit(":", 1)[1])
        for request in [*bad.values()] * 150:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(request)
                assert sock.recv(64).startswith((b"HTTP/1.1 200", b"HTTP/1.1 400"))
        assert punch(kiosk_url, token, "2468").status_code == 200  # the kiosk carries on
    for line in ("Unsupported upgrade request", "No supported WebSocket library",
                 "Invalid HTTP request received"):
        assert served.output.count(line) <= 2, served.output[-2000:]


@pytest.mark.sqlite_only
def test_a_kiosk_port_that_is_the_apis_own_is_one_error_line_naming_both(config,
                                                                          site_with_kiosk):
    # It started the kiosk there, then said the API's port was "in use?" (by the kiosk).
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "tempclock.api.cli", "serve", "--port", str(port),
         "--data-dir", str(config.data_dir), "--kiosk-host", "127.0.0.1",
         "--kiosk-port", str(port), "--no-dispatch"],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"--kiosk-port {port} is the API's port too" in result.stderr, result.stderr
    assert "Started server process" not in result.stderr
