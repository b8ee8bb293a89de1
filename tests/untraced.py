"""The environment of a child process that runs none of the product's code (pip, the
schemathesis command), or only paths the suite's own processes run too (the demo's loads at
clock changes, under libfaketime): `pytest --cov` measures every Python child
([tool.coverage.run] patch = ["subprocess"]), and tracing a large program costs it about as
much CPU again as its own work, to measure nothing new."""

from __future__ import annotations

import os
from collections.abc import Mapping

# What coverage.py's subprocess patch (and COVERAGE_PROCESS_START) start a child's coverage by.
COVERAGE_VARIABLES = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")


def untraced(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (default: this process's environment) without the variables that start coverage."""
    given = os.environ if env is None else env
    return {name: value for name, value in given.items() if name not in COVERAGE_VARIABLES}
