"""`schemathesis run`, fuzzing phase: no server error, no answer off the documented schema.

Hypothesis-generated requests to every operation, valid and invalid. The other phases:
test_api_schemathesis_*_phase.py (schemathesis_runs.py).
"""

from __future__ import annotations

from schemathesis_runs import run_phases


def test_the_fuzzing_phase_finds_no_server_error_nor_schema_violation(api, fuzzed, tmp_path):
    report = run_phases(api, fuzzed, tmp_path, {"fuzzing": "success"})
    assert report["test_cases"]["generated"] > 100, report["test_cases"]
