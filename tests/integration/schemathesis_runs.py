"""`schemathesis run` against a test module's server, as a CI job would run it.

All four phases (examples, coverage, fuzzing, stateful: links inferred from the document)
with a fixed seed and every check below. Each phase runs in a test file of its own, so the
suite's processes run them side by side (each took a minute or more under coverage); their
union is the all-phases run of issue 11. One schemathesis worker: schemathesis 4.32 with
several sometimes fails inside hypothesis (SystemError from ast.parse describing a lambda),
whatever the API answered.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from api_tenants import Api, Tenant, make_tenant
from untraced import untraced

from tempclock.api.services import clocking, shifts

SEED = "20261203"
# Operations that make the host call out to a URL the request names (creating, changing or
# deleting webhook subscriptions, pinging them) are left out; reading them is not.
CALL_OUT_OPERATIONS = r"^(create|update|delete|ping)_webhook"
CALL_OUT_COUNT = 9
ALL_PHASES_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                     "response_headers_conformance", "response_schema_conformance",
                     "use_after_free", "ensure_resource_availability", "unsupported_method",
                     "allow_header_conformance", "missing_required_header", "ignored_auth")


def fuzzed_agency() -> Tenant:
    """An agency with data of every kind, so generated ids sometimes hit real objects."""
    tenant = make_tenant()
    clocking.clock_in(tenant.account_id, tenant.worker.id)
    shifts.create_shift(tenant.account_id, shifts.ShiftCreate(
        location_id=tenant.site.id, start=dt.datetime(2030, 1, 1, 8, tzinfo=dt.UTC),
        end=dt.datetime(2030, 1, 1, 16, tzinfo=dt.UTC)))
    return tenant


def run_phases(api: Api, tenant: Tenant, report_dir: Path, phases: dict[str, str], *,
               every_operation: bool = True) -> dict:
    """Run the `phases` (name: the status expected of it) and check the report: no failure,
    no error, each phase's status, every operation but the call-outs selected and (unless
    not `every_operation`: the stateful phase tests those its links connect) tested.
    Returns the report."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run",
        f"{api.url}/api/v1/openapi.json", "--url", api.url,
        "-H", f"Authorization: Bearer {tenant.key}",
        "--phases", ",".join(phases), "--seed", SEED,
        "--max-examples", "8", "--workers", "1", "--generation-database", "none",
        "--checks", ",".join(ALL_PHASES_CHECKS),
        "--exclude-operation-id-regex", CALL_OUT_OPERATIONS,
        "--report", "json", "--report-dir", str(report_dir), "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False,
                         cwd=report_dir, env=untraced())  # the server is this process
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    report = json.loads(next(report_dir.glob("json-*.json")).read_text())
    assert report["failures"] == [] and report["errors"] == []
    assert {name: report["phases"][name]["status"] for name in phases} == phases
    operations = report["operations"]
    assert operations["selected"] == operations["total"] - CALL_OUT_COUNT, operations
    assert 0 < operations["tested"] <= operations["selected"], operations
    assert operations["tested"] == operations["selected"] or not every_operation, operations
    return report
