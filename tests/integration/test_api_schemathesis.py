"""The served OpenAPI document holds: generated requests never cause a 500 or an off-schema answer.

(`schemathesis run` with all its phases: test_api_schemathesis_*_phase.py.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(f"{url}/api/v1/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_generated_requests_get_documented_answers(api, fuzzed):
    headers = {"Authorization": f"Bearer {fuzzed.key}"}
    found = operations(api.url)
    assert len(found) >= 40
    failures = []
    for operation in found:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def keeps_its_promises(case):
            case.call_and_validate(base_url=api.url, checks=CHECKS, headers=headers)

        try:
            keeps_its_promises()
        except Exception as failure:  # collect them all, then report
            failures.append(f"{operation.label}: {failure}")
    assert not failures, "\n\n".join(failures)
