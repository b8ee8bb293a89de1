"""A plugin's number settings hold numbers: "nan" and "inf" parse as floats but compare false
with everything, so a threshold set to them silently never fires. The admin is told, in one
line, and the saved value stays as it was."""

from __future__ import annotations

import json

import pytest
from test_cli_connectors import one_line_error, tc

THRESHOLD_PLUGIN = """\
from tempclock.plugins import Setting, hookimpl

TEMPCLOCK_SETTINGS = (
    Setting("long_shift_hours", "Alert after (hours)", type="decimal", default=12),
)


@hookimpl
def clock_out(event, context):
    pass
"""


@pytest.fixture
def plugins_dir(tmp_path):
    folder = tmp_path / "dev-plugins"
    folder.mkdir()
    (folder / "long_shifts.py").write_text(THRESHOLD_PLUGIN)
    tc(tmp_path / "data", "accounts", "create", "Acme")
    return folder


def settings(tmp_path, plugins_dir, *more, ok=True):
    return tc(tmp_path / "data", "--plugins-dir", str(plugins_dir), "connectors", "settings",
              "long_shifts", "--account", "1", *more, ok=ok)


@pytest.mark.parametrize("absurd", ["nan", "NaN", "inf", "-Infinity", "1e309"])
def test_a_decimal_setting_that_is_not_a_finite_number_is_refused_and_nothing_changes(
        tmp_path, plugins_dir, absurd):
    settings(tmp_path, plugins_dir, "--set", "long_shift_hours=10.5")
    line = one_line_error(settings(tmp_path, plugins_dir, "--set", f"long_shift_hours={absurd}",
                                   ok=False))
    assert line == "Error: Alert after (hours) must be a number"
    saved = json.loads(settings(tmp_path, plugins_dir, "--json").stdout)
    assert "10.5" in json.dumps(saved)


def test_a_decimal_setting_takes_an_ordinary_number(tmp_path, plugins_dir):
    settings(tmp_path, plugins_dir, "--set", "long_shift_hours=7.25")
    assert "7.25" in settings(tmp_path, plugins_dir).stdout
