"""Night shifts across the clock changes of 2027, for the timesheet and totals tests.

A 22:00–07:00 night lasts 8 hours when the clocks go forward and 10 when they go back.
The nights lie in the future of today's clock, and entries may not, so they are
recorded by a process that libfaketime starts with its clock on 1 December 2027.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

FAKETIME = shutil.which("faketime")
needs_faketime = pytest.mark.skipif(FAKETIME is None, reason="libfaketime is not installed "
                                    "(apt-get install faketime; .ci/run installs it)")
AFTER_THE_NIGHTS = "2027-12-01 12:00:00"


class Night(NamedTuple):
    zone: str
    clocked_in_on: dt.date  # the local date of 22:00
    hours: float


NIGHTS = (
    Night("Europe/London", dt.date(2027, 3, 27), 8.0),
    Night("Europe/London", dt.date(2027, 10, 30), 10.0),
    Night("America/New_York", dt.date(2027, 3, 13), 8.0),
    Night("America/New_York", dt.date(2027, 11, 6), 10.0),
)

_RECORD = """
import datetime as dt, sys
from pathlib import Path
from tempclock.api.config import load_config
from tempclock.api.services import clocking
from tempclock.api.store import close_store, open_store

open_store(load_config(Path(sys.argv[1])))
account = int(sys.argv[2])
for night in sys.argv[3:]:
    worker, location, day = night.split(",")
    day = dt.date.fromisoformat(day)
    clocking.record_entry(  # times without an offset are local times at the location
        account, int(worker), int(location),
        dt.datetime.combine(day, dt.time(22)),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7)))
close_store()
"""


def record_nights(data_dir: Path, account_id: int, placed: dict[str, tuple[int, int]]) -> None:
    """Record every night of NIGHTS, 22:00 to 07:00 local, for the (worker, location) of its zone."""
    nights = [f"{placed[n.zone][0]},{placed[n.zone][1]},{n.clocked_in_on}" for n in NIGHTS]
    env = {**os.environ, "TZ": "UTC", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
    done = subprocess.run([FAKETIME, AFTER_THE_NIGHTS, sys.executable, "-c", _RECORD,
                           str(data_dir), str(account_id), *nights],
                          capture_output=True, text=True, timeout=120, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def night_workers(config, account, make_location, make_worker) -> dict[str, tuple[int, int]]:
    """A London and a New York site with a night worker at each, their nights recorded:
    {zone: (worker id, location id)}."""
    london = make_location(account.id, "Leeds DC", timezone="Europe/London")
    newark = make_location(account.id, "Newark Depot", timezone="America/New_York",
                           latitude=40.7357, longitude=-74.1724)
    placed = {"Europe/London": (make_worker(account.id, "Ann", "Nowak").id, london.id),
              "America/New_York": (make_worker(account.id, "Dana", "Price").id, newark.id)}
    record_nights(config.data_dir, account.id, placed)
    return placed
