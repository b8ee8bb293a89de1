"""`context.needs_attention`: what a connector tells the admin to check is kept on the run record,
logged as a warning, and bounded however much a connector reports."""

from __future__ import annotations

from tempclock.api.services import connectors
from tempclock.plugins import Cancelled, Connector, Setting


class Unmatched(Connector):
    """Reports `n` rows it could not match, then stops (or is cancelled, when asked)."""

    id = "unmatched"
    name = "Unmatched"
    kind = "ats"
    capabilities = frozenset({"import_workers"})
    settings = (Setting("n", "Rows", type="integer", default=2),
                Setting("cancel", "Cancel after", type="boolean", default=False))

    def run(self, context):
        for n in range(context.settings["n"]):
            context.needs_attention(f"Row {n + 1}: site 'Hull' is unknown, worker not placed")
        if context.settings["cancel"]:
            raise Cancelled("cancelled by the admin")


def test_what_needs_attention_is_kept_with_the_run_and_logged_as_a_warning(account):
    run = connectors.run_connector(account.id, Unmatched())
    assert run.status == "succeeded"
    expected = [f"Row {n}: site 'Hull' is unknown, worker not placed" for n in (1, 2)]
    assert run.needs_attention == expected
    assert [line for line in run.log if line.startswith("warning: ")] == [
        f"warning: {message}" for message in expected]
    assert connectors.list_runs(account.id, "unmatched")[0].needs_attention == expected


def test_a_flood_of_messages_is_bounded_and_the_rest_counted(account):
    run = connectors.run_connector(account.id, Unmatched(), overrides={"n": 1003})
    assert len(run.needs_attention) == connectors.MAX_NEEDS_ATTENTION + 1
    assert run.needs_attention[-1] == "...and 3 more"


def test_a_cancelled_run_keeps_what_it_reported(account):
    run = connectors.run_connector(account.id, Unmatched(), overrides={"cancel": True})
    assert run.status == "cancelled" and len(run.needs_attention) == 2


def test_a_run_with_nothing_to_report_has_an_empty_list(account):
    run = connectors.run_connector(account.id, Unmatched(), overrides={"n": 0})
    assert run.needs_attention == []
