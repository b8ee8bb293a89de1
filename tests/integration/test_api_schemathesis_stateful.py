"""Stateful fuzzing of the live API: schemathesis chains calls through the links it infers
from the OpenAPI document (create a worker, then read, update and clock it; clock in, then
read the entry...), and every answer must keep the documented promises, including that
what was just created can be read back.

Operations that could make the host call out to an address a generated request chose are
left out: creating, changing or deleting webhook subscriptions, and pinging them.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, ensure_resource_availability, use_after_free]


def test_chained_calls_keep_the_documented_promises(api, fuzzed):
    schema = (schemathesis.openapi.from_url(f"{api.url}/api/v1/openapi.json")
              .exclude(path_regex=r"^/api/v1/webhooks", method=["POST", "PUT", "PATCH", "DELETE"]))
    assert not [op for op in (r.ok() for r in schema.get_all_operations())
                if op.path.startswith("/api/v1/webhooks") and op.method.upper() != "GET"]
    # Valid requests only: chains get further, and the stateless test sends the invalid ones.
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    headers = {"Authorization": f"Bearer {fuzzed.key}"}

    class Workflow(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"base_url": api.url, "headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(
        max_examples=40, stateful_step_count=8, deadline=None, derandomize=True,
        database=None, suppress_health_check=list(HealthCheck)))
