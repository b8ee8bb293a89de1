"""`schemathesis run`, stateful phase: no server error, no answer off the documented schema.

Chains of calls through the links schemathesis infers from the document. The other phases:
test_api_schemathesis_*_phase.py (schemathesis_runs.py).
"""

from __future__ import annotations

from schemathesis_runs import run_phases


def test_the_stateful_phase_finds_no_server_error_nor_schema_violation(api, fuzzed, tmp_path):
    report = run_phases(api, fuzzed, tmp_path, {"stateful": "success"}, every_operation=False)
    assert report["test_cases"]["generated"] > 20, report["test_cases"]
