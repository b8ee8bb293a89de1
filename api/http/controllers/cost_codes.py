"""Cost codes: list, one (also on TempClock's `/cost_codes.php`)."""

from __future__ import annotations

from litestar import Controller
from litestar.params import FromPath

from tempclock.api.http.routing import Identity, One, Query, both_paths, endpoint, one_or_page
from tempclock.api.services import cost_codes
from tempclock.api.services.common import Page
from tempclock.api.services.cost_codes import CostCode, CostCodeFilter


class CostCodeController(Controller):
    path = "/"
    tags = ["Cost codes"]

    @endpoint("GET", both_paths("cost-codes", "/cost_codes.php"), operation_id="list_cost_codes",
              scope="cost_codes:read", summary="List cost codes, or one with ?id=")
    def list_cost_codes(self, identity: Identity,
                        params: Query[CostCodeFilter]) -> Page[CostCode] | One[CostCode]:
        account = identity.account_id
        return one_or_page(params, lambda i: cost_codes.get_cost_code(account, i),
                           lambda p: cost_codes.list_cost_codes(account, p))

    @endpoint("GET", "/cost-codes/{cost_code_id:int}", operation_id="get_cost_code",
              scope="cost_codes:read", summary="One cost code")
    def get_cost_code(self, identity: Identity, cost_code_id: FromPath[int]) -> One[CostCode]:
        return One(cost_codes.get_cost_code(identity.account_id, cost_code_id))
