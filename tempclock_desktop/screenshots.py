"""`python -m tempclock_desktop.screenshots OUT_DIR`: a PNG of every panel, offscreen.

Loads the demo agency into a temporary data directory, saves settings for the
first-party connectors and runs the ATS import (a dry run, then for real, from an
export with bad rows) and the payroll export, subscribes webhooks (one to a receiver
on loopback, one to a closed port), serves the API on a free loopback port with its
dispatcher delivering, sends it some traffic (including a burst of refused requests,
so the API Logs alert shows), then photographs each panel, the other connectors'
settings forms, the main dialogs, the kiosk's (a PIN and its slip, a site's link, QR
poster and listener, a late worker on the board), the webhook secret and the one-time
key reveal.
First, a first start on an empty data directory: each empty panel and each step of
the getting-started guide (`first-run-N-step.png`). And the workers' kiosk page in a
headless Chromium (`kiosk-*.png`, see kiosk_screenshots.py). Anyone can look at the UI
without a display.
"""

from __future__ import annotations

import argparse
import http.server
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from tempclock.api.config import load_config  # noqa: E402
from tempclock.api.services import accounts, connectors, demo, keys, webhooks, workers  # noqa: E402
from tempclock.api.store import close_store, open_store  # noqa: E402
from tempclock.plugins.manager import load_plugins  # noqa: E402
from tempclock_desktop import kiosk_screenshots  # noqa: E402
from tempclock_desktop.app import Desktop, application  # noqa: E402
from tempclock_desktop.dialogs.clock import ClockInDialog  # noqa: E402
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRevealDialog  # noqa: E402
from tempclock_desktop.dialogs.location import LocationDialog  # noqa: E402
from tempclock_desktop.dialogs.shift import ShiftDialog  # noqa: E402
from tempclock_desktop.dialogs.webhooks import WebhookDialog, WebhookSecretDialog  # noqa: E402
from tempclock_desktop.dialogs.worker import WorkerDialog  # noqa: E402
from tempclock_desktop.guide import STEPS  # noqa: E402
from tempclock_desktop.main_window import SECTIONS  # noqa: E402
from tempclock_desktop.operations import running_operations  # noqa: E402
from tempclock_desktop.panels.webhooks import EVERYTHING  # noqa: E402

SIZE = (1440, 900)


def settle(app: QApplication, timeout: float = 20.0, quiet: float = 0.3) -> None:
    """Process events until no background operation has run for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    calm_since = None
    while time.monotonic() < deadline:
        app.processEvents()
        if running_operations() == 0:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        else:
            calm_since = None
        time.sleep(0.01)


def _request(url: str, key: str | None) -> int:
    request = urllib.request.Request(url)  # noqa: S310 - loopback only
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _traffic(base: str, good: str, narrow: str) -> None:
    """Integrations at work, one of them misconfigured, and someone guessing keys."""
    for path in ("workers", "workers.php?id=3", "timesheets?entry_filter=all", "locations",
                 "on-site-now", "shifts", "departments", "cost-codes", "workers/999999"):
        _request(f"{base}/api/v1/{path}", good)
    for _ in range(12):
        _request(f"{base}/api/v1/timesheets", narrow)  # lacks the scope: 403
    for n in range(14):
        _request(f"{base}/api/v1/workers", f"tc_live_{n:040x}")  # not a key: 401


class _Receiver:
    """A webhook receiver on loopback that answers 200 to every POST and counts them."""

    def __init__(self) -> None:
        self.count = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.count += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


ATS_EXPORT = """Candidate ID,Forename,Surname,Email,Site,Department,Start Date,Status
ATS-2001,Olena,Kovalenko,olena.k@example.com,Leeds Distribution Centre,Warehouse,02/03/2026,Placed
ATS-2002,Tomasz,Wójcik,t.wojcik@example.com,Warsaw Fulfilment Hub,Warehouse,02/03/2026,Placed
ATS-2003,,Popescu,ana.popescu@example.com,Bucharest Assembly Plant,Assembly,09/03/2026,Placed
ATS-2004,Jonas,Kazlauskas,jonas.k@example.com,Vilnius Parcel Centre,Drivers,09/03/2026,Placed
ATS-2005,Siobhan,Byrne,s.byrne@example.com,Dublin Food Packing,Food Production,31/02/2026,Placed
ATS-2006,Marek,Nowicki,marek.n@example.com,Hull Docks,Warehouse,16/03/2026,Placed
ATS-2007,Ioana,Dumitru,ioana.d@example.com,Bucharest Assembly Plant,Assembly,16/03/2026,Placed
ATS-2008,Liam,Walsh,liam.walsh@example.com,Manchester Airport Logistics,Security,16/03/2026,Left
"""


def _integrations(account_id: int, folder: Path, receiver_url: str) -> None:
    """Connector settings and runs, and webhooks, as an agency that uses them would have."""
    host = load_plugins()
    try:
        ats = host.connector("ats-csv").connector
        payroll = host.connector("payroll-csv").connector
        crm = host.connector("crm-push").connector
        # The receivers run on this PC: the admin has allowed internal targets.
        accounts.allow_internal_targets(account_id, True, by=accounts.local_admin("desktop"))
        webhooks.create_webhook(account_id, webhooks.WebhookCreate(
            url=f"{receiver_url}/tempclock", events=["*"],
            description="Bullhorn sync (this PC)"))
        closed = webhooks.create_webhook(account_id, webhooks.WebhookCreate(
            url="http://127.0.0.1:9/events", events=["clock_in", "clock_out"],
            description="Old payroll bridge (switched off)"))
        connectors.save_settings(account_id, crm, {
            "url": f"{receiver_url}/crm", "events": ["worker_created", "worker_updated"],
            "mapping": "externalId=employee_ref; firstName=first_name; lastName=last_name",
            "authorization": "Bearer crm-demo-token"})
        connectors.set_enabled(account_id, crm, True)
        export = folder / "ats-export.csv"
        export.write_text(ATS_EXPORT, encoding="utf-8")
        connectors.save_settings(account_id, ats, {"file": str(export)})
        connectors.run_connector(account_id, ats, dry_run=True)
        connectors.run_connector(account_id, ats)
        connectors.save_settings(account_id, payroll, {"period": "last_week",
                                                        "rounding_minutes": "15"})
        connectors.run_connector(account_id, payroll,
                                 export_dir=folder / "data" / "exports")
        first = workers.list_workers(account_id, workers.WorkerFilter(limit=1)).data[0]
        workers.update_worker(account_id, first.id, workers.WorkerUpdate(role="Team leader"))
        webhooks.ping_webhook(account_id, closed.id)
    finally:
        host.close()


def _wait_for_deliveries(app: QApplication, receiver: _Receiver, timeout: float = 20.0) -> None:
    """Until the dispatcher process has delivered what was queued (the count stops rising)."""
    deadline = time.monotonic() + timeout
    seen, still_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        app.processEvents()
        if receiver.count != seen:
            seen, still_since = receiver.count, time.monotonic()
        elif seen > 0 and time.monotonic() - still_since > 0.5:
            return
        time.sleep(0.05)


def _edit_first(panel) -> None:
    panel.table.selectRow(0)
    panel.open_editor(panel.selected())


_DIALOGS = (
    ("workers", _edit_first, WorkerDialog),
    ("locations", _edit_first, LocationDialog),
    ("shifts", lambda panel: panel.open_editor(), ShiftDialog),
    ("timesheets", lambda panel: panel.clock_in(), ClockInDialog),
)


def _grab(widget: QWidget, path: Path) -> Path:
    widget.grab().save(str(path))
    return path


def _wait_for_server(app: QApplication, desktop: Desktop) -> None:
    deadline = time.monotonic() + 15
    while not desktop.server.running and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


EMPTY_PANELS = ("on_site", "shifts", "timesheets", "workers", "locations", "connectors",
                "webhooks", "api_keys", "api_logs")


def _first_run(app: QApplication, out_dir: Path, data_dir: Path) -> list[Path]:
    """A first start on an empty data directory: each empty panel, then each step of the
    getting-started guide, walked to an answered test request."""
    desktop = Desktop.start(load_config(data_dir), serve=True, port=0)
    window = desktop.window
    window.resize(*SIZE)
    window.show()
    settle(app)
    _wait_for_server(app, desktop)
    written: list[Path] = []
    try:
        for key in EMPTY_PANELS:
            window.show_panel(key)
            settle(app)
            written.append(_grab(window, out_dir / f"empty-{key.replace('_', '-')}.png"))
        guide = window.show_guide()
        settle(app)
        for n, (step, _caption) in enumerate(STEPS, start=1):
            guide.go_to_step(step)
            _first_run_step(app, guide, step, desktop.session.account_id)
            written.append(_grab(window, out_dir / f"first-run-{n}-{step}.png"))
    finally:
        desktop.stop()
    return written


def _first_run_step(app: QApplication, guide, step: str, account_id: int) -> None:
    """What the admin does on a step before it is photographed."""
    if step == "name":
        guide.agency_name.setText("Northern Temps Ltd")
        guide.save_name()
    elif step == "access":
        demo.load_demo(account_id)  # step 2, done the quick way
        guide.refresh()
    elif step == "key":
        guide.access_button.click()
        settle(app)
        guide.issue()
        settle(app)
        dialog = guide.findChild(IssueKeyDialog)
        dialog.name.setText("Bullhorn ATS")
        dialog.accept()
        settle(app)
        guide.findChild(KeyRevealDialog).accept()
    elif step == "request":
        guide.test_request()
    settle(app)


def take(out_dir: Path) -> list[Path]:
    """Write the PNGs into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    app = application([sys.argv[0]])
    written = kiosk_screenshots.take(out_dir)  # the workers' kiosk page, in Chromium
    with tempfile.TemporaryDirectory(prefix="tempclock-shots-") as temp:
        written += _first_run(app, out_dir, Path(temp) / "first-run")
        config = load_config(Path(temp) / "data")
        open_store(config)
        account = accounts.create_account("Northern Temps Ltd", api_enabled=True)
        accounts.create_account("Baltic Staffing UAB")
        demo.load_demo(account.id)
        good = keys.issue_key(account.id, "Bullhorn ATS").plaintext
        narrow = keys.issue_key(account.id, "Payroll export", scopes=["workers:read"]).plaintext
        keys.issue_key(account.id, "Old CRM sync")
        keys.revoke_key(keys.list_keys(account.id)[0].id)
        receiver = _Receiver()
        _integrations(account.id, Path(temp), receiver.url)
        close_store()

        desktop = Desktop.start(config, serve=True, port=0)
        window = desktop.window
        window.resize(*SIZE)
        window.show()
        settle(app)
        _wait_for_server(app, desktop)
        _traffic(desktop.server.url, good, narrow)
        time.sleep(0.6)  # the log writer batches every 0.25 s
        try:
            _wait_for_deliveries(app, receiver)
            n = 0
            for _caption, entries in SECTIONS:
                for key, _panel in entries:
                    n += 1
                    panel = window.show_panel(key)
                    settle(app)
                    if key == "api_logs":
                        panel.refresh_stats()  # type: ignore[attr-defined]
                        settle(app)
                    written.append(_grab(window, out_dir / f"{n:02d}-{key}.png"))
            webhooks_panel = window.show_panel("webhooks")
            webhooks_panel.show_filter.setCurrentIndex(  # type: ignore[attr-defined]
                webhooks_panel.show_filter.findData(EVERYTHING))  # type: ignore[attr-defined]
            webhooks_panel.show_deliveries()  # type: ignore[attr-defined]
            settle(app)
            n += 1
            written.append(_grab(window, out_dir / f"{n:02d}-webhooks-everything-sent.png"))
            connectors_panel = window.show_panel("connectors")
            for connector_id in ("payroll-csv", "crm-push"):
                n += 1
                connectors_panel.select_connector(connector_id)  # type: ignore[attr-defined]
                settle(app)
                written.append(_grab(window, out_dir / f"{n:02d}-connectors-{connector_id}.png"))
            for key, open_dialog, kind in _DIALOGS:
                n += 1
                panel = window.show_panel(key)
                settle(app)
                open_dialog(panel)
                settle(app)
                dialog = next(d for d in panel.findChildren(kind) if d.isVisible())
                written.append(_grab(dialog, out_dir / f"{n:02d}-{dialog.objectName()}.png"))
                dialog.reject()
                settle(app)
            written += _kiosk(app, desktop, out_dir)
            webhooks_panel = window.show_panel("webhooks")
            settle(app)
            webhooks_panel.open_editor(None)  # type: ignore[attr-defined]
            settle(app)
            dialog = webhooks_panel.findChild(WebhookDialog)
            dialog.url.setText("https://hooks.sagepayroll.example/tempclock")
            dialog.description.setText("Sage payroll bureau")
            n += 1
            written.append(_grab(dialog, out_dir / f"{n:02d}-add-webhook-dialog.png"))
            dialog.accept()
            settle(app)
            secret = webhooks_panel.findChild(WebhookSecretDialog)
            n += 1
            written.append(_grab(secret, out_dir / f"{n:02d}-webhook-secret-dialog.png"))
            secret.accept()
            settle(app)
            keys_panel = window.show_panel("api_keys")
            settle(app)
            keys_panel.issue()  # type: ignore[attr-defined]
            settle(app)
            dialog = keys_panel.findChild(IssueKeyDialog)
            dialog.name.setText("Sage Payroll")
            for scope in ("workers:read", "timesheets:read"):
                dialog.scope_boxes[scope].setChecked(True)
            settle(app)
            written.append(_grab(dialog, out_dir / f"{n + 1:02d}-issue-key-dialog.png"))
            dialog.accept()
            settle(app)
            reveal = keys_panel.findChild(KeyRevealDialog)
            written.append(_grab(reveal, out_dir / f"{n + 2:02d}-key-reveal-dialog.png"))
            reveal.accept()
            settle(app)
        finally:
            desktop.stop()
            receiver.close()
    return written


# --- the kiosk: PIN and slip, a site's link and poster, the listener, who is late ---------


def _kiosk(app: QApplication, desktop: Desktop, out_dir: Path) -> list[Path]:
    """The kiosk's desktop side: a PIN just set and its slip, a site's new kiosk link with
    its QR code and poster, the kiosk listener card, and a late worker on the board."""
    import contextlib
    import datetime as dt

    from tempclock.api.services import kiosk, locations, shifts, timesheets
    from tempclock.api.services.errors import DomainError
    from tempclock_desktop import kiosk_paper
    from tempclock_desktop.dialogs.kiosk_link import KioskLinkDialog
    from tempclock_desktop.dialogs.pin import PinDialog
    from tempclock_desktop.server import free_port_near

    window, account_id = desktop.window, desktop.session.account_id
    written: list[Path] = []
    here = {w.worker_id for site in timesheets.on_site_now(account_id).sites for w in site.workers}
    start = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=25)
    late = None
    for worker in workers.list_workers(account_id, workers.WorkerFilter(limit=50)).data:
        if not worker.active or worker.location_id is None or worker.id in here:
            continue
        try:  # the first worker free now gets a shift that started 25 minutes ago
            shifts.create_shift(account_id, shifts.ShiftCreate(
                location_id=worker.location_id, worker_id=worker.id, start=start,
                end=start + dt.timedelta(hours=8)))
        except DomainError:
            continue
        late = worker
        break
    if late is None:
        raise RuntimeError("the demo agency has no worker free for a late shift")
    pin = PinDialog(window, account_id, late)
    pin.open()
    settle(app)
    pin.set_pin()
    settle(app)
    written.append(_grab(pin, out_dir / "kiosk-pin-dialog.png"))
    written.append(_save(kiosk_paper.render_image(kiosk_paper.slip_sheet(pin.slip), 620),
                         out_dir / "kiosk-pin-slip.png"))
    pin_of_late = pin.new_pin.pin
    pin.accept()
    panel = window.show_panel("server")
    card = panel.kiosk_card  # type: ignore[attr-defined]
    card.offer.setChecked(True)
    card.port.setValue(free_port_near("0.0.0.0", 8788) or 8788)  # noqa: S104 - as an admin would
    card.save()
    settle(app)
    _wait_for(app, lambda: window.kiosk.state in ("running", "failed"))
    written.append(_grab(card, out_dir / "kiosk-listener-card.png"))
    site = next(loc for loc in locations.list_locations(
        account_id, locations.LocationFilter(limit=50)).data if loc.id == late.location_id)
    link = KioskLinkDialog(window, account_id, site, window.kiosk)
    link.open()
    settle(app)
    link.create()
    settle(app)
    written.append(_grab(link, out_dir / "kiosk-link-dialog.png"))
    written.append(_save(kiosk_paper.render_image(kiosk_paper.poster_sheet(link.poster), 900),
                         out_dir / "kiosk-poster.png"))
    with contextlib.suppress(DomainError):  # queued on the tablet 2 days ago: too old
        kiosk.punch(link.link.url.rsplit("/", 1)[-1], pin_of_late, "clock_in",
                    device_time=start - dt.timedelta(days=2), idempotency_key="tablet:1")
    link.accept()
    card.offer.setChecked(False)
    card.save()
    window.lateness_alerts.check()
    window.show_panel("on_site").refresh()
    settle(app)
    written.append(_grab(window, out_dir / "kiosk-on-site-expected-not-here.png"))
    return written


def _save(image, path: Path) -> Path:
    image.save(str(path))
    return path


def _wait_for(app: QApplication, condition, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tempclock_desktop.screenshots",
        description="Photograph every panel and the main dialogs of the desktop, offscreen, "
                    "over the demo agency.")
    parser.add_argument("out_dir", type=Path, help="folder the PNG files are written to")
    for path in take(parser.parse_args(argv).out_dir):
        print(path)


if __name__ == "__main__":
    main()
