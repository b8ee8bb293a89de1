"""Fixtures of the CLI tests (helpers they import by name are in cli_runs.py)."""

from __future__ import annotations

import pytest
from cli_runs import run_in


@pytest.fixture
def tc(tmp_path):
    """`tc(*args, ok=True)` runs `tempclock *args` on a fresh data folder (`tc.data_dir`)."""
    return run_in(tmp_path / "data")
