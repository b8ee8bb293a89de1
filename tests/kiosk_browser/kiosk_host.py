"""A real `tempclock serve` for the kiosk page's browser tests, and the Chromium that drives it.

The server runs in a child process on a fixed loopback port, so it can be stopped and started
again at the same address (the offline tests); data is set up through the services in the
test's own process, on the same data directory, exactly as the desktop would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = ("the kiosk page's browser tests need Debian's chromium at /usr/bin/chromium "
               "(apt-get install chromium; .ci/run installs it)")
START_TIMEOUT_S = 60
RESULT_WAIT_MS = 30_000  # a punch's answer on the page; generous for a loaded 2-core CI box

# Leeds DC's centre; "outside" is 5 km north of it.
LEEDS = {"latitude": 53.8008, "longitude": -1.4436}
OUTSIDE_LEEDS = {"latitude": 53.8450, "longitude": -1.4436}
TABLET = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.exists() and shutil.which(str(CHROMIUM))):
        return NO_CHROMIUM
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the kiosk page's browser tests need the `playwright` package (the [test] extra)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class KioskHost:
    """`tempclock serve` over `data_dir` on `port`, that can be stopped and started again."""

    data_dir: Path
    log: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> KioskHost:
        """Start serving and wait until the host answers."""
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tempclock.api.cli", "serve", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), "--no-dispatch"],
                stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/docs", timeout=2)
                return self
            except httpx.TransportError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"tempclock serve did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        """Stop the host (SIGTERM, then SIGKILL if it lingers); the port is free afterwards."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def reachable(self) -> bool:
        try:
            httpx.get(f"{self.url}/docs", timeout=2)
            return True
        except httpx.TransportError:
            return False


# `navigator.serviceWorker.ready` never settles on the first load (the page was opened as
# /kiosk/<token>, outside the worker's /kiosk/<token>/ scope), so ask for the registration.
SERVICE_WORKER_STATE = ("navigator.serviceWorker.getRegistration(location.href)"
                        ".then(registration => registration?.active?.state ?? null)")
INSTALL_WAIT_S = 90  # the worker fetches the page's files: generous for a loaded 2-core CI box


def wait_until_activated(page, timeout_s: float = INSTALL_WAIT_S) -> None:
    """Wait until the page's service worker has installed (its shell is cached) and activated.

    Polled with `evaluate`, which waits for the promise: `wait_for_function` would take the
    promise itself for a truthy answer and return at once, whatever the worker's state.
    """
    deadline = time.monotonic() + timeout_s
    while page.evaluate(SERVICE_WORKER_STATE) != "activated":
        assert time.monotonic() < deadline, "the kiosk page's service worker did not install"
        page.wait_for_timeout(100)


def wait_until_installed(page) -> None:
    """Wait until the page's service worker is active, then reload so that it controls it.

    (A page loaded while its worker was still installing is not controlled until its next
    load, so the reload comes only once the worker is active.)
    """
    wait_until_activated(page)
    page.reload()
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def punch(page, pin: str, action: str) -> None:
    """Type `pin` into the PIN field and press the button named `action`."""
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name=action, exact=True).click()
