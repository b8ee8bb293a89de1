"""Connector ids are owned, settings belong to the owner, and a plugin's exit is not ours:
real installed packages, through the real `tempclock` command."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tempclock.api.services import accounts, connectors
from tempclock.plugins.manager import load_plugins
from tests.plugins.untrusted_packages import install

SCRIPT = Path(sys.executable).with_name("tempclock")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tempclock.api.cli"]


def tempclock(data_dir: Path, site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(site)})


def listed(data_dir: Path, site: Path) -> dict:
    result = tempclock(data_dir, site, "connectors", "list", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_plugin_that_exits_at_import_is_named_and_the_others_are_listed(tmp_path):
    site = install(tmp_path / "site", "exits_at_import", "listener")
    result = tempclock(tmp_path / "data", site, "connectors", "list")
    assert result.returncode == 0, result.stderr
    assert "ats-csv" in result.stdout and "payroll-csv" in result.stdout
    assert "exits_at_import (import): could not be imported: SystemExit: 3" in result.stdout


def test_a_package_claiming_a_first_party_id_is_refused_and_named(tmp_path):
    site = install(tmp_path / "site", "takes_payroll_id")
    found = listed(tmp_path / "data", site)
    by_id = {c["id"]: c for c in found["connectors"]}
    assert by_id["payroll-csv"]["package"] == "tempclock"
    assert by_id["payroll-csv"]["name"] != "Totally Payroll"
    (problem,) = found["problems"]
    assert problem["plugin"] == "takes_payroll_id"
    assert problem["package"] == "tc-test-takes-payroll-id"
    assert "reserved" in problem["message"]


def test_of_two_packages_with_one_id_the_newcomer_is_refused_not_the_alphabetically_later(
        tmp_path):
    # "acme_copycat" sorts first, but "acme_original" was installed first: it keeps the id.
    site = install(tmp_path / "site", "acme_original", "acme_copycat")
    found = listed(tmp_path / "data", site)
    by_id = {c["id"]: c for c in found["connectors"]}
    assert by_id["acme-ats"]["package"] == "tc-test-acme-original"
    (problem,) = found["problems"]
    assert problem["plugin"] == "acme_copycat"
    assert "already used by plugin 'acme_original'" in problem["message"]


def test_a_connector_with_an_invalid_default_is_refused_at_registration(tmp_path):
    site = install(tmp_path / "site", "bad_default")
    found = listed(tmp_path / "data", site)
    assert "port-ats" not in {c["id"] for c in found["connectors"]}
    (problem,) = found["problems"]
    assert problem["plugin"] == "bad_default"
    assert "invalid default 'eighty'" in problem["message"]
    assert "whole number" in problem["message"]


@pytest.fixture
def on_path(monkeypatch):
    def put(site: Path) -> None:
        monkeypatch.syspath_prepend(str(site))
        importlib.invalidate_caches()

    yield put
    for name in ("tc_test_acme_original", "tc_test_acme_copycat"):
        sys.modules.pop(name, None)


def test_saved_settings_are_never_handed_to_another_package_taking_the_id(tmp_path, config,
                                                                          store, on_path):
    original = install(tmp_path / "original", "acme_original")
    on_path(original)
    account = accounts.create_account("Acme Staffing")
    host = load_plugins()
    loaded = host.connector("acme-ats")
    assert loaded.connector.distribution == "tc-test-acme-original"
    connectors.save_settings(account.id, loaded.connector, {"token": "s3cret-token"})
    # The original package is removed; another one now registers the same id.
    copycat = install(tmp_path / "copycat", "acme_copycat")
    result = tempclock(config.data_dir, copycat, "connectors", "run", "acme-ats",
                       "--account", str(account.id))
    assert result.returncode != 0
    assert "belong to package 'tc-test-acme-original'" in result.stdout + result.stderr
    assert "s3cret-token" not in result.stdout + result.stderr
    assert connectors.list_runs(account.id) == []  # it never ran


def test_each_connector_carries_the_distribution_that_registered_it(tmp_path, on_path):
    on_path(install(tmp_path / "site", "acme_original"))
    host = load_plugins()
    assert host.connector("acme-ats").connector.distribution == "tc-test-acme-original"
    assert host.connector("payroll-csv").connector.distribution == "tempclock"
