"""`schemathesis run`, examples and coverage phases: no server error, no answer off the documented
schema.

The coverage phase sends the edge values and the unexpected methods of every operation (the
schema has no examples: that phase is skipped). The other phases:
test_api_schemathesis_*_phase.py (schemathesis_runs.py).
"""

from __future__ import annotations

from schemathesis_runs import run_phases


def test_the_coverage_phase_finds_no_server_error_nor_schema_violation(api, fuzzed, tmp_path):
    report = run_phases(api, fuzzed, tmp_path, {"examples": "skip", "coverage": "success"})
    assert report["test_cases"]["generated"] > 3000, report["test_cases"]
