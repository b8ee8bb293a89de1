"""`TEMPCLOCK_PLUGIN_TIME_BUDGET`: the plugins' time budget an admin may set, typos included."""

from __future__ import annotations

import pytest

from tempclock.api.plugin_runtime import BUDGET_ENV, PluginSupervisor
from tempclock.plugins.manager import HOOK_TIMEOUT_S

pytestmark = pytest.mark.sqlite_only  # no store is read


@pytest.mark.parametrize(("written", "budget"), [
    ("2.5", 2.5), ("0", 0.1), ("-3", 0.1), ("ten seconds", HOOK_TIMEOUT_S), ("", HOOK_TIMEOUT_S),
    (" 30 ", 30.0), ("86400", 3600.0), ("1e400", HOOK_TIMEOUT_S),
    ("inf", HOOK_TIMEOUT_S), ("-Infinity", HOOK_TIMEOUT_S), ("nan", HOOK_TIMEOUT_S),
])
def test_the_plugin_process_gets_the_budget_written_or_the_default_for_a_typo(
        config, monkeypatch, written, budget):
    monkeypatch.setenv(BUDGET_ENV, written)
    assert PluginSupervisor(config).budget == budget


def test_a_budget_that_is_not_a_number_is_reported_naming_the_variable(config, monkeypatch,
                                                                       caplog):
    monkeypatch.setenv(BUDGET_ENV, "inf")
    assert PluginSupervisor(config).budget == HOOK_TIMEOUT_S
    assert f"{BUDGET_ENV}='inf' is not a number of seconds" in caplog.text
