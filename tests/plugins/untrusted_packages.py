"""Real plugin distributions that misbehave, built and pip-installed into a folder for a test.

Each is a one-module package registered in the `tempclock` entry-point group, exactly as a
third party would ship it. `install(target, *names)` installs the named ones (in that
order: pip writes their metadata one after the other, which is their install order);
`plugin_agency` sets a test up to serve with them: an agency, and what `serve` is handed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from untraced import untraced

from tempclock.api.services import accounts, keys, locations, workers

HEADER = """
import os, sys, time
from tempclock.plugins import Connector, Setting, hookimpl
"""



def connector(cls: str, *, id: str, name: str, kind: str, capability: str, setting: str,
              logs: str) -> str:
    """The source of a plugin registering one connector with one setting, whose run logs
    the expression `logs`."""
    return f"""
        class {cls}(Connector):
            id = {id!r}
            name = {name!r}
            kind = {kind!r}
            capabilities = frozenset({{{capability!r}}})
            settings = ({setting},)

            def run(self, context):
                context.log({logs})

        @hookimpl
        def register_connectors(register):
            register({cls}())
    """


SOURCES = {
    # Exits while being imported.
    "exits_at_import": "sys.exit(3)\n",
    # Never finishes being imported.
    "hangs_at_import": "time.sleep(3600)\n",
    # Raises SystemExit in its clock_in hook.
    "exits_in_hook": """
        @hookimpl
        def clock_in(event, context):
            raise SystemExit("plugin wants out")
    """,
    # Kills the whole process from its clock_in hook.
    "kills_process": """
        @hookimpl
        def clock_in(event, context):
            os._exit(7)
    """,
    # Never returns from its clock_in hook.
    "hangs_in_hook": """
        @hookimpl
        def clock_in(event, context):
            time.sleep(3600)
    """,
    # A connector whose receive_event never returns.
    "hangs_receiving": """
        class Slow(Connector):
            id = "slow-crm"
            name = "Slow CRM"
            kind = "crm"
            capabilities = frozenset({"receive_events"})
            events = ("clock_in",)

            def receive_event(self, event, context):
                time.sleep(3600)

        @hookimpl
        def register_connectors(register):
            register(Slow())
    """,
    # Registers a connector under a first-party id.
    "takes_payroll_id": connector(
        "Impostor", id="payroll-csv", name="Totally Payroll", kind="payroll",
        capability="export_timesheets", setting='Setting("folder", "Folder", type="path")',
        logs='"impostor ran with " + repr(dict(context.settings))'),
    # Two different distributions claiming the same third-party id.
    "acme_original": connector(
        "Acme", id="acme-ats", name="Acme ATS (original)", kind="ats",
        capability="import_workers", setting='Setting("token", "Token", type="secret")',
        logs='"original"'),
    "acme_copycat": connector(
        "Copy", id="acme-ats", name="Acme ATS (copycat)", kind="ats",
        capability="import_workers", setting='Setting("token", "Token", type="secret")',
        logs='"copycat got " + repr(dict(context.settings))'),
    # A default that is not a value of its own type.
    "bad_default": connector(
        "Port", id="port-ats", name="Port ATS", kind="ats", capability="import_workers",
        setting='Setting("port", "Port", type="integer", default="eighty")',
        logs='"port " + repr(context.settings["port"])'),
    # Well behaved: writes the id of every clock_in it hears, and when, to $HEARD_FILE.
    "listener": """
        @hookimpl
        def clock_in(event, context):
            with open(os.environ["HEARD_FILE"], "a") as out:
                out.write(f"{event.data['id']} {time.time()}\\n")
    """,
}


def distribution(name: str) -> str:
    return "tc-test-" + name.replace("_", "-")


def build(root: Path, name: str) -> Path:
    """Write the source tree of plugin package `name` under `root`; returns its folder."""
    folder = root / distribution(name)
    folder.mkdir(parents=True)
    module = f"tc_test_{name}"
    (folder / f"{module}.py").write_text(HEADER + textwrap.dedent(SOURCES[name]))
    (folder / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "{distribution(name)}"
        version = "1.0.0"

        [project.entry-points.tempclock]
        {name} = "{module}"

        [tool.setuptools]
        py-modules = ["{module}"]
    """))
    return folder


def install(target: Path, *names: str) -> Path:
    """pip-install the named packages into `target`, one after the other; returns `target`."""
    sources = target.parent / f"{target.name}-src"
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
             "--no-build-isolation", "--target", str(target), str(build(sources, name))],
            check=True, capture_output=True, timeout=180, env=untraced())
        time.sleep(0.05)  # distinct install times, whatever the file system's resolution
    return target


@dataclass(frozen=True)
class PluginAgency:
    """An agency (one site, its workers, an API key) whose `serve` runs installed plugins."""

    account: Any
    site: Any
    workers: list[Any]
    key: str
    heard_file: Path  # where the well-behaved `listener` writes what it hears

    def heard(self) -> dict[int, float]:
        """Entry id -> when the `listener` plugin heard its clock_in."""
        if not self.heard_file.exists():
            return {}
        return {int(entry): float(at) for entry, at in
                (line.split() for line in self.heard_file.read_text().splitlines()
                 if line.strip())}


def plugin_agency(site_packages: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, *,
                  budget_s: float, names: tuple[str, ...] = ("Ann",),
                  in_this_process: bool = False) -> PluginAgency:
    """Processes started from now on (serve, its dispatcher and plugin process) find the
    plugins of `site_packages` installed, each hook with `budget_s` s; with
    `in_this_process`, so does this one (never with a plugin that hangs when imported).
    Creates an agency with one worker per name (the store must be open)."""
    heard_file = folder / "heard.txt"
    monkeypatch.setenv("PYTHONPATH", str(site_packages))
    monkeypatch.setenv("HEARD_FILE", str(heard_file))
    monkeypatch.setenv("TEMPCLOCK_PLUGIN_TIME_BUDGET", f"{budget_s:g}")
    if in_this_process:
        monkeypatch.syspath_prepend(str(site_packages))
    account = accounts.create_account("Acme Staffing", api_enabled=True)
    site = locations.create_location(account.id, locations.LocationCreate(
        name="Leeds DC", timezone="Europe/London"))
    crew = [workers.create_worker(account.id, workers.WorkerCreate(
        first_name=name, last_name="Nowak", location_id=site.id)) for name in names]
    return PluginAgency(account, site, crew, keys.issue_key(account.id, "ATS").plaintext,
                        heard_file)
