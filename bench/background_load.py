"""What a neutral background CPU load does to the API's throughput ratio on this machine.

    .venv/bin/python bench/background_load.py [--duty 0.45] [--rounds 3] [--seconds 8]

bench/kiosk_punches.py charges the kiosk for any fall of the ratio (full pipeline / bare
Litestar) while it punches. On the 2-vCPU VMs we run on, the bare server got *faster* beside
the kiosk's load (14.2k -> 16.5k req/s) while the full pipeline stayed put, so the ratio fell
with no request of the API slowed. This script tells that machine effect from ours: the same
two servers as bench/api_throughput.py (bare on stock uvicorn, full pipeline), measured in
alternating rounds alone and beside a process that only spins `--duty` of one CPU (in 2 ms
slices: busy, then asleep), nothing of ours. 0.45 is about what the kiosk's load takes
(its process, its wrk, the dispatcher).

Measured 2026-12-04 (quiet box, duty 0.45, 3 rounds): bare x1.20, full x1.10, the ratio
0.40 -> 0.37, 9% lower from the spinner alone; the kiosk's cost on the same box was 4-9%.

A measurement for decisions, not a target: no verdict.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import ChildServer, host_speed, scratch_dir, wrk
from api_throughput import seed

SPIN = """
import sys, time
duty, end = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    start = time.monotonic()
    while time.monotonic() - start < duty * 0.002:
        pass
    time.sleep((1 - duty) * 0.002)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duty", type=float, default=0.45, help="share of one CPU to spin")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()

    import httpx

    data_dir = scratch_dir("background_load")
    state = seed(data_dir)
    auth = {"Authorization": f"Bearer {state['key']}"}
    path = f"/api/v1/workers?id={state['worker_id']}"
    script = str(Path(__file__).with_name("api_throughput.py"))
    full = ChildServer(script, "full", data_dir)
    bare = None
    rounds: list[dict[str, float]] = []
    try:
        sample = httpx.get(full.url + path, headers=auth)
        sample.raise_for_status()
        (data_dir / "worker.json").write_bytes(sample.content)
        bare = ChildServer(script, "stock", data_dir, ready_path="/bare")
        speed = host_speed()

        def measure() -> tuple[float, float]:
            return (wrk(bare.url + "/bare", seconds=args.seconds,
                        connections=args.connections)["rps"],
                    wrk(full.url + path, seconds=args.seconds, connections=args.connections,
                        headers=auth)["rps"])

        for _ in range(args.rounds):
            bare_alone, full_alone = measure()
            spinner = subprocess.Popen([sys.executable, "-c", SPIN, str(args.duty),
                                        str(2 * args.seconds + 2)])
            time.sleep(1)
            try:
                bare_beside, full_beside = measure()
            finally:
                spinner.wait()
            rounds.append({"bare": bare_beside / bare_alone, "full": full_beside / full_alone,
                           "alone": full_alone / bare_alone, "beside": full_beside / bare_beside})
            print(f"  round: bare {bare_alone:.0f} -> {bare_beside:.0f}, full {full_alone:.0f} "
                  f"-> {full_beside:.0f} req/s; ratio {rounds[-1]['alone']:.2f} -> "
                  f"{rounds[-1]['beside']:.2f}", flush=True)
    finally:
        full.stop()
        if bare is not None:
            bare.stop()

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    print(f"beside a spinner taking {args.duty:.0%} of one CPU ({args.rounds} alternating rounds "
          f"of {args.seconds}s, wrk -c{args.connections}):")
    print(f"  bare x{median('bare'):.2f}, full pipeline x{median('full'):.2f}; ratio "
          f"{median('alone'):.2f} alone, {median('beside'):.2f} beside it: "
          f"{1 - median('beside') / median('alone'):.0%} lower from the machine alone")
    print(f"  {speed}")


if __name__ == "__main__":
    main()
