"""`tempclock serve` in a child process, for tests that kill it or restart it, and clients
that clock workers against it meanwhile.

Output goes to a file, never a pipe nobody reads, so a chatty server or its dispatcher
never blocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT_S = 60  # a loaded CI box starts a server slowly; most start in 1-2 s
STOP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(url: str, process: subprocess.Popen, timeout: float, *,
            verify: object = True, every: float = 0.05) -> bool:
    """Wait until the server at `url` answers `/docs`; False if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/docs", timeout=1, verify=verify)
            return True
        except httpx.TransportError:
            if process.poll() is not None:
                return False
            time.sleep(every)
    return False


def children_of(pid: int) -> set[int]:
    """The processes `pid` started (its dispatcher, that one's resource tracker); Linux only."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def listening_child(pid: int, port: int) -> int | None:
    """The child process of `pid` that holds the socket listening on `port`; Linux only."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    for child in children_of(pid):
        for fd in Path(f"/proc/{child}/fd").glob("*"):
            try:
                if fd.readlink().name.removeprefix("socket:[").rstrip("]") in inodes:
                    return child
            except OSError:
                continue
    return None


def running(pid: int) -> bool:
    """Whether process `pid` is alive (a zombie is not); Linux only."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def group_is_gone(pgid: int, timeout: float) -> bool:
    """Whether every process of group `pgid` has exited within `timeout` s.

    An exited child of a process that has itself exited (a zombie, such as multiprocessing's
    resource tracker orphaned when serve exits) waits for the machine's init to reap it,
    which a container's init may do only a second or more later: it runs nothing, holds
    nothing, and counts as gone.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _running_in_group(pgid):
            return True
        time.sleep(0.05)
    return False


def _running_in_group(pgid: int) -> list[int]:
    """The processes of group `pgid` that have not exited (zombies excluded)."""
    running = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        state, _ppid, group = text.rpartition(")")[2].split()[:3]
        if int(group) == pgid and state != "Z":
            running.append(int(stat.parent.name))
    return running


class Server:
    """`tempclock serve` (with `args`) on a free loopback port, with its webhook dispatcher.

    Its output goes to `log`. With `own_group`, it runs in a process group of its own (as a
    service runs), and `stop` waits for the whole group. `scheme` and `verify` say how to
    reach it when it serves HTTPS.
    """

    def __init__(self, config, log: Path, *args: str, own_group: bool = False,
                 scheme: str = "http", verify: object = True) -> None:
        self.port = free_port()
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        self.log = log
        self.own_group = own_group
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tempclock.api.cli", "serve", "--port", str(self.port),
                 "--data-dir", str(config.data_dir), *args],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=own_group)
        if answers(self.url, self.process, START_TIMEOUT_S, verify=verify, every=0.02):
            return
        self.process.kill()
        self.process.wait()
        raise AssertionError(f"tempclock serve did not start:\n{self.output}")

    @property
    def output(self) -> str:
        """What the server has printed so far (stdout and stderr)."""
        return self.log.read_text()

    def kill(self) -> set[int]:
        """SIGKILL the server; returns the processes it had started, left to fend for themselves."""
        children = children_of(self.process.pid)
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        return children

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Stop gracefully (SIGTERM, or SIGINT as Ctrl+C): requests in flight finish, the
        dispatcher stops; the server must exit 0. Returns how long it took (its whole group,
        with `own_group`)."""
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"tempclock serve ignored SIGTERM:\n{self.output}") from None
        assert self.process.returncode == 0, self.output
        if self.own_group:
            assert group_is_gone(self.process.pid, STOP_TIMEOUT_S), self.output
        return time.monotonic() - started


@dataclass
class Acknowledged:
    """A clock action the server answered with a 2xx."""

    action: str
    worker_id: int
    entry_id: int
    at: str  # the clock_in or clock_out the response showed
    sent: float  # time.monotonic() when the request went out
    answered: float  # and when its answer arrived
    request_id: str = ""  # the X-Request-ID the answer carried (the API log's key)


@dataclass
class Load:
    """Clients clocking workers against whichever server is up, recording what was acknowledged."""

    key: str
    url: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)
    lost_connections: int = 0
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, groups: list[list[int]], seed: int) -> None:
        """One client thread per group of workers (groups may share workers)."""
        for n, worker_ids in enumerate(groups):
            thread = threading.Thread(target=self._client, args=(worker_ids, seed + n),
                                      daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self) -> None:
        """Stop the clients; returns once each has had its last answer."""
        self.stop.set()
        for thread in self.threads:
            thread.join(15)

    def _client(self, worker_ids: list[int], seed: int) -> None:
        rng = random.Random(seed)
        clocked_in: dict[int, bool] = dict.fromkeys(worker_ids, False)
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(timeout=httpx.Timeout(10, connect=2), headers=headers) as http:
            while not self.stop.is_set():
                worker_id = rng.choice(worker_ids)
                action = "out" if clocked_in[worker_id] else "in"
                sent = time.monotonic()
                try:
                    response = http.post(f"{self.url}/api/v1/clock",
                                         json={"worker_id": worker_id, "action": action})
                except httpx.TransportError:
                    self.lost_connections += 1  # the server is down: nothing was acknowledged
                    time.sleep(0.1)  # leave the CPU to the server starting again
                    continue
                if response.status_code in (200, 201):
                    entry = response.json()["data"]
                    self.acknowledged.append(Acknowledged(
                        action, worker_id, entry["id"],
                        entry["clock_in"] if action == "in" else entry["clock_out"],
                        sent, time.monotonic(), response.headers.get("x-request-id", "")))
                    clocked_in[worker_id] = action == "in"
                elif response.status_code == 409:
                    # Another client moved a shared worker, or a write committed just before
                    # a kill was never acknowledged: learn the worker's state.
                    self.refused += 1
                    code = response.json()["code"]
                    clocked_in[worker_id] = code == "already_clocked_in"
                else:
                    self.unexpected.append(f"{response.status_code} {response.text[:300]}")


def stored_time(value: str) -> str:
    """A time as a response shows it, as the store keeps it (naive UTC, ISO with a space)."""
    return dt.datetime.fromisoformat(value).astimezone(dt.UTC).replace(tzinfo=None).isoformat(
        sep=" ")


def raw_problem(received: bytes, status_line: bytes) -> dict:
    """The problem JSON of a raw HTTP/1.1 answer, once its status line and type are checked."""
    first, _, rest = received.partition(b"\r\n")
    assert first == status_line, received[:300]
    head, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    return json.loads(body)
