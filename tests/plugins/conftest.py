"""Fixtures for plugin tests: a plugin host, and the tiny connector package installed for real."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from untraced import untraced

from tempclock.plugins.manager import PluginHost

TINY = Path(__file__).parent / "tiny_connector"


@pytest.fixture
def host():
    host = PluginHost(hook_timeout=2.0)
    try:
        yield host
    finally:
        host.close()


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory):
    """The tiny connector distribution, pip-installed into a directory of its own.

    pip builds in the source folder (build/, *.egg-info), so each test process (pytest-xdist
    worker) builds from a copy of its own, never in the repository's folder beside another.
    """
    source = tmp_path_factory.mktemp("tiny-source") / TINY.name
    shutil.copytree(TINY, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True, capture_output=True, timeout=180, env=untraced(),
    )
    return target


@pytest.fixture
def tiny_installed(tiny_site, monkeypatch):
    """Put the installed tiny package on the path, as if it were in site-packages."""
    monkeypatch.syspath_prepend(str(tiny_site))
    importlib.invalidate_caches()
    yield tiny_site
    sys.modules.pop("tempclock_tiny_roster", None)
