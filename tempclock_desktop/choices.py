"""Reading whole (small) lists through the paged services, for combo boxes (Qt-free).

Runs on the background pool. Workers, sites, departments and cost codes of one
agency are hundreds of rows at most; larger tables use the lazy table model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tempclock.api.services import cost_codes, departments, locations, workers
from tempclock.api.services.common import MAX_LIMIT, Page


def every(list_page: Callable[..., Page[Any]], account_id: int, params_type: type,
          **filters: Any) -> list[Any]:
    """Every record a paged service list returns, following `after_id` to the end."""
    found: list[Any] = []
    after: int | None = None
    while True:
        page = list_page(account_id, params_type(after_id=after, limit=MAX_LIMIT, **filters))
        found.extend(page.data)
        if not page.pagination.has_more or not page.data:
            return found
        after = page.data[-1].id


def page_of(list_page: Callable[..., Page[Any]], account_id: int, params_type: type,
            after_id: int | None, **filters: Any) -> list[Any]:
    """One page (100 records) of a paged service list after `after_id`."""
    return list_page(account_id, params_type(after_id=after_id, limit=MAX_LIMIT,
                                              **filters)).data


@dataclass
class Choices:
    """The active records a form offers to pick from."""

    locations: list[locations.Location] = field(default_factory=list)
    departments: list[departments.Department] = field(default_factory=list)
    cost_codes: list[cost_codes.CostCode] = field(default_factory=list)
    workers: list[workers.Worker] = field(default_factory=list)


def load_choices(account_id: int, *, want_workers: bool = False) -> Choices:
    """Active locations, departments and cost codes (and workers when asked)."""
    return Choices(
        locations=every(locations.list_locations, account_id, locations.LocationFilter,
                        active=True),
        departments=every(departments.list_departments, account_id,
                          departments.DepartmentFilter, active=True),
        cost_codes=every(cost_codes.list_cost_codes, account_id, cost_codes.CostCodeFilter,
                         active=True),
        workers=(every(workers.list_workers, account_id, workers.WorkerFilter, active=True)
                 if want_workers else []),
    )
