"""`python -m tempclock_desktop.screenshots OUT_DIR`: a PNG of every panel, offscreen.

Loads the demo agency into a temporary data directory, serves the API on a free
loopback port, sends it some traffic (including a burst of refused requests, so
the API Logs alert shows), then photographs each panel, the issue-key dialog
and the one-time key reveal dialog. Anyone can look at the UI without a display.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from api.config import load_config  # noqa: E402
from api.services import accounts, demo, keys  # noqa: E402
from api.store import close_store, open_store  # noqa: E402
from tempclock_desktop.app import Desktop, application  # noqa: E402
from tempclock_desktop.dialogs.clock import ClockInDialog  # noqa: E402
from tempclock_desktop.dialogs.keys import IssueKeyDialog, KeyRevealDialog  # noqa: E402
from tempclock_desktop.dialogs.location import LocationDialog  # noqa: E402
from tempclock_desktop.dialogs.shift import ShiftDialog  # noqa: E402
from tempclock_desktop.dialogs.worker import WorkerDialog  # noqa: E402
from tempclock_desktop.main_window import SECTIONS  # noqa: E402
from tempclock_desktop.operations import running_operations  # noqa: E402

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


def take(out_dir: Path) -> list[Path]:
    """Write the PNGs into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    app = application([sys.argv[0]])
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="tempclock-shots-") as temp:
        config = load_config(Path(temp) / "data")
        open_store(config)
        account = accounts.create_account("Northern Temps Ltd", api_enabled=True)
        accounts.create_account("Baltic Staffing UAB")
        demo.load_demo(account.id)
        good = keys.issue_key(account.id, "Bullhorn ATS").plaintext
        narrow = keys.issue_key(account.id, "Payroll export", scopes=["workers:read"]).plaintext
        keys.issue_key(account.id, "Old CRM sync")
        keys.revoke_key(keys.list_keys(account.id)[0].id)
        close_store()

        desktop = Desktop.start(config, serve=True, port=0)
        window = desktop.window
        window.resize(*SIZE)
        window.show()
        settle(app)
        deadline = time.monotonic() + 15
        while not desktop.server.running and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.02)
        _traffic(desktop.server.url, good, narrow)
        time.sleep(0.6)  # the log writer batches every 0.25 s
        try:
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
    return written


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tempclock_desktop.screenshots OUT_DIR")
    for path in take(Path(sys.argv[1])):
        print(path)


if __name__ == "__main__":
    main()
