"""What plugins got wrong while running, kept so the CLI and the desktop can show it.

The plugin process records a hook that raised or overran its time budget, and its
supervisor a plugin that was running when the process died, or that was quarantined.
Each distinct problem (plugin, stage, message) is one row: a repeat adds to its count
and moves its last-seen time; the latest traceback is kept.

These rows describe the host's plugins, not an account's data: no account owns them,
so no outbox event is written with them.
"""

from __future__ import annotations

import hashlib

from tempclock.api.services.common import transaction, utc, utcnow
from tempclock.api.store.models import PluginProblem as ProblemRow
from tempclock.plugins.manager import PluginHost, PluginProblem

__all__ = ["all_problems", "list_problems", "record_problem"]

MAX_DETAILS = 20_000  # characters of a traceback kept
MAX_MESSAGE = 2_000


def _key(plugin: str, stage: str, message: str) -> str:
    return hashlib.sha256(f"{plugin}\0{stage}\0{message}".encode()).hexdigest()


def record_problem(problem: PluginProblem) -> None:
    """Keep a plugin's problem: a new row, or one more sighting of the same one."""
    message = problem.message[:MAX_MESSAGE]
    key = _key(problem.plugin, problem.stage, message)
    now = utcnow()
    with transaction():
        (ProblemRow.insert(plugin=problem.plugin, package=problem.package, stage=problem.stage,
                           message=message, details=problem.details[-MAX_DETAILS:], count=1,
                           first_seen=now, last_seen=now, key=key)
         .on_conflict(conflict_target=[ProblemRow.key],
                      update={ProblemRow.count: ProblemRow.count + 1,
                              ProblemRow.last_seen: now,
                              ProblemRow.details: problem.details[-MAX_DETAILS:]})
         .execute())


def list_problems(plugin: str | None = None) -> list[PluginProblem]:
    """The stored problems (of one plugin, or all), the most recently seen first."""
    query = ProblemRow.select().order_by(ProblemRow.last_seen.desc(), ProblemRow.id.desc())
    if plugin is not None:
        query = query.where(ProblemRow.plugin == plugin)
    return [PluginProblem(row.plugin, row.stage, row.message, row.details, row.package,
                          count=row.count, first_seen=utc(row.first_seen),
                          last_seen=utc(row.last_seen))
            for row in query]


def all_problems(host: PluginHost) -> list[PluginProblem]:
    """What to show an admin: the problems of loading `host` now, then the stored ones."""
    return [*host.problems, *list_problems()]
