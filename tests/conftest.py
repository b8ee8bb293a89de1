"""Shared fixtures: a real store (SQLite, and PostgreSQL too: see store_backends.py), factories."""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
import store_backends  # noqa: E402
from migrated_store import copy_store  # noqa: E402

from tempclock.api.config import Config, load_config  # noqa: E402
from tempclock.api.services import accounts, locations, workers  # noqa: E402
from tempclock.api.store import close_store, open_store  # noqa: E402

pytest_plugins = ["coverage_floors"]  # per-folder coverage after `pytest --cov` (issue 15)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: runs on SQLite only, no PostgreSQL run")
    config.addinivalue_line("markers", "postgres_only: runs on PostgreSQL only")
    if not hasattr(config, "workerinput"):  # an xdist worker inherits the controller's servers
        store_backends.use_local_servers()


def pytest_unconfigure(config):
    store_backends.stop_local_servers()


REQUIRED = "TEMPCLOCK_REQUIRE_BACKENDS"  # e.g. "postgres,redis": .ci/run fails on their skips
SKIPS: collections.Counter[str] = collections.Counter()  # "postgres", "redis" or the reason


def pytest_runtest_logreport(report):
    """Count skips by backend, and time by file (under xdist, in the controller, which gets
    every report)."""
    SPENT[report.nodeid.split("::", 1)[0]] += report.duration
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        SKIPS[store_backends.skipped_backend(reason) or reason] += 1


def _required_backends() -> list[str]:
    return [name.strip() for name in os.environ.get(REQUIRED, "").split(",") if name.strip()]


def _missing_backends(config) -> list[str]:
    """Required backends with a skipped case, or none available to run on."""
    return [name for name in _required_backends()
            if SKIPS[name] or store_backends.where_from(name).startswith("not available")]


def pytest_sessionfinish(session):
    store_backends.close()
    _record_file_durations(session.config)
    if hasattr(session.config, "workerinput"):
        return  # the controller judges the whole run
    if _missing_backends(session.config) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    """One line: which backends ran, what was skipped and why (and CI's verdict on it)."""
    backends = "; ".join(f"{name}: {store_backends.where_from(name)}"
                         for name in ("postgres", "redis"))
    by_backend = [f"{SKIPS[n]} for want of {n}" for n in ("postgres", "redis") if SKIPS[n]]
    others = sum(count for reason, count in SKIPS.items() if reason not in ("postgres", "redis"))
    skipped = ", ".join([*by_backend, *([f"{others} others (see -ra above)"] if others else [])])
    terminalreporter.write_line(
        f"backends: sqlite; {backends} | skipped: {skipped or 'none'}", bold=True)
    missing = _missing_backends(config)
    if missing:
        terminalreporter.write_line(
            f"FAILED: {REQUIRED} requires {', '.join(missing)}, whose cases were skipped "
            "or had no server", red=True, bold=True)


# --- the longest test files first -------------------------------------------------------
# pytest-xdist hands out whole files (--dist loadfile) in collection order
# (--no-loadscope-reorder), to whichever process is free: started last, a long file alone
# would bound the run's wall time. Seconds per file (setup, call and teardown of all its
# tests) as last measured under `pytest --cov`; `--record-file-durations` updates them. Only
# their order counts: measured on a busy machine they are larger, and may be scaled to add up
# to a quiet run's four processes (4 x 691 s in CI on 2026-12-04).
FILE_DURATIONS = Path(__file__).with_name("file_durations.json")
SPENT: collections.Counter[str] = collections.Counter()  # seconds per file, this run


def pytest_addoption(parser):
    parser.addoption("--record-file-durations", action="store_true",
                     help=f"write this run's seconds per test file to {FILE_DURATIONS.name}")


def _recorded_durations() -> dict[str, float]:
    return json.loads(FILE_DURATIONS.read_text()) if FILE_DURATIONS.exists() else {}


def pytest_collection_modifyitems(config, items):
    """Longest files first: by their recorded seconds, or for a file not recorded yet (a new
    one), its number of tests times a recorded test's mean seconds, so a new long file is not
    started last."""
    recorded = _recorded_durations()
    tests = collections.Counter(item.nodeid.split("::", 1)[0] for item in items)
    known = [name for name in tests if name in recorded]
    per_test = (sum(recorded[name] for name in known) / sum(tests[name] for name in known)
                if known else 0.0)
    seconds = {name: recorded.get(name, count * per_test) for name, count in tests.items()}
    items.sort(key=lambda item: -seconds[item.nodeid.split("::", 1)[0]])  # stable


def _record_file_durations(config) -> None:
    """With --record-file-durations, the files this run timed get their new seconds."""
    if config.getoption("record_file_durations") and not hasattr(config, "workerinput"):
        recorded = _recorded_durations()
        recorded.update((name, round(seconds, 1)) for name, seconds in SPENT.items())
        by_file = dict(sorted(recorded.items(), key=lambda entry: -entry[1]))
        FILE_DURATIONS.write_text(json.dumps(by_file, indent=1) + "\n")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        marks = {mark.name for mark in metafunc.definition.iter_markers()}
        params = store_backends.params_for(metafunc.definition.path, marks)
        if params is not None:
            metafunc.parametrize("backend", params, indirect=True, scope="module")


@pytest.fixture(scope="session", autouse=True)
def own_user_folders(tmp_path_factory):
    """User-level config and data (Qt, platformdirs, child processes) go to folders of this
    test process's own: pytest-xdist workers never share them, nor touch the real home's."""
    home = tmp_path_factory.mktemp("user")
    with pytest.MonkeyPatch.context() as monkeypatch:
        for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
            monkeypatch.setenv(variable, str(home / variable.lower()))
        yield


@pytest.fixture(scope="module")
def backend(request):
    """The store a test runs on: "sqlite", or "postgres" (store, service and API tests)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def config(tmp_path, monkeypatch, backend):
    """The configuration of a fresh data directory and a fresh database of the test's backend."""
    monkeypatch.delenv("TEMPCLOCK_DATA_DIR", raising=False)
    with store_backends.database_for(backend, monkeypatch):
        yield load_config(tmp_path / "data")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite store file migrated once per test process (each `store` starts as a copy)."""
    template = Config(data_dir=tmp_path_factory.mktemp("migrated") / "data")
    open_store(template)
    close_store()  # the last connection checkpoints the WAL into the file
    return template.sqlite_path


@pytest.fixture
def store(config, migrated_sqlite):
    """An open, migrated store in a temp directory; closed afterwards.

    A new SQLite store is a copy of the session's migrated file (migrating costs ~0.1 s of
    CPU a test, copying ~0.005 s), made as the store makes its own: the folder and the file
    private before a byte is written (`copy_store`). PostgreSQL runs are copies of a template
    already.
    """
    if config.database_url is None and not config.sqlite_path.exists():
        copy_store(migrated_sqlite, config)
    db = open_store(config)
    yield db
    close_store()


@pytest.fixture
def account(store):
    return accounts.create_account("Acme Staffing", api_enabled=True)


@pytest.fixture
def other_account(store):
    return accounts.create_account("Rival Recruitment", api_enabled=True)


@pytest.fixture
def make_location(store):
    def make(account_id: int, name: str = "Leeds DC", **fields):
        fields.setdefault("timezone", "Europe/London")
        fields.setdefault("latitude", 53.8008)
        fields.setdefault("longitude", -1.4436)
        return locations.create_location(account_id, locations.LocationCreate(name=name, **fields))

    return make


@pytest.fixture
def make_worker(store):
    counter = iter(range(1, 10_000))

    def make(account_id: int, first_name: str = "Ann", last_name: str = "Nowak", **fields):
        fields.setdefault("employee_ref", f"EMP-{next(counter):04d}")
        return workers.create_worker(
            account_id,
            workers.WorkerCreate(first_name=first_name, last_name=last_name, **fields),
        )

    return make


@pytest.fixture
def site(account, make_location):
    return make_location(account.id)


@pytest.fixture
def worker(account, site, make_worker):
    return make_worker(account.id, location_id=site.id)


# --- a webhook receiver on loopback --------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; it can be told to fail or stall."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.requests: list[dict] = []
        self.fail_next = 0
        self.status = 200
        self.delay = 0.0
        self.reply = b"ok"  # the body of every answer
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                import time

                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.arrived:
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body, "failed": failing})
                    receiver.arrived.notify_all()
                status = 503 if failing else receiver.status
                self.send_response(status)
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Block until at least `count` requests arrived; return them."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def allow_internal_targets(*account_ids: int) -> None:
    """Let accounts send to receivers on this PC, as the admin does (desktop or CLI)."""
    for account_id in account_ids:
        accounts.allow_internal_targets(account_id, True, by="tests (admin)")


@pytest.fixture
def receiver():
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=TempClock test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def _readable_by_others(data: Path) -> list[str]:
    """Every folder not 0700 and every file not 0600 under `data` (and `data` itself)."""
    found = []
    for path in [data, *data.rglob("*")]:
        mode = path.lstat().st_mode & 0o777
        if mode != (0o700 if path.is_dir() else 0o600):
            found.append(f"{path.relative_to(data.parent)} {mode:o}")
    return found


@pytest.fixture
def readable_by_others():
    """Lists what under a data directory others could read, under the usual umask 022."""
    previous = os.umask(0o022)  # files made readable to everyone unless made otherwise
    yield _readable_by_others
    os.umask(previous)
