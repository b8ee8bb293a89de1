"""Cold start of the desktop app: process start to main window shown with the API up.

Each run is a fresh Python process (offscreen Qt). Measured for a first run (empty data
directory: migrations, default account) and for a data directory holding the demo agency.
Baseline, in the same run: a process that only imports Qt and shows an empty QMainWindow.

    .venv/bin/python bench/desktop_cold_start.py [RUNS]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import sys, time
t0 = time.perf_counter()
mode, data_dir = sys.argv[1], sys.argv[2]
from PySide6.QtWidgets import QApplication, QMainWindow
if mode == "baseline":
    app = QApplication([])
    window = QMainWindow()
    window.show()
    app.processEvents()
    print(f"{time.perf_counter() - t0:.4f}")
    sys.exit(0)
from tempclock.api.config import load_config
from tempclock_desktop.app import Desktop, application
app = application([])
desktop = Desktop.start(load_config(data_dir), serve=True, port=0)
desktop.window.show()
while not (desktop.server.running and desktop.session.account is not None):
    app.processEvents()
    if desktop.server.state == "failed":
        sys.exit("server failed: " + str(desktop.server.error))
    time.sleep(0.001)
elapsed = time.perf_counter() - t0
desktop.stop()
print(f"{elapsed:.4f}")
"""


def child(mode: str, data_dir: str) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", CHILD, mode, data_dir], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def demo_dir(root: Path) -> str:
    from tempclock.api.config import load_config
    from tempclock.api.services import accounts, demo
    from tempclock.api.store import close_store, open_store

    path = root / "demo"
    open_store(load_config(path))
    demo.load_demo(accounts.create_account("Demo agency", api_enabled=True).id)
    close_store()
    return str(path)


def report(name: str, times: list[float]) -> None:
    print(f"{name:<34} median {statistics.median(times):.3f} s   max {max(times):.3f} s   "
          f"({len(times)} runs)")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        filled = demo_dir(root)
        baseline = [child("baseline", "") for _ in range(runs)]
        first = [child("desktop", str(root / f"fresh{n}")) for n in range(runs)]
        demo = [child("desktop", filled) for _ in range(runs)]
    report("baseline: Qt + empty window", baseline)
    report("first run (empty data dir)", first)
    report("demo agency data dir", demo)
    worst = max(first + demo)
    print(f"target <= 2.000 s: {'PASS' if worst <= 2.0 else 'FAIL'} (worst {worst:.3f} s)")


if __name__ == "__main__":
    main()
