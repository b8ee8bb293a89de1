"""Departments: list, one."""

from __future__ import annotations

from litestar import Controller
from litestar.params import FromPath

from tempclock.api.http.routing import Identity, One, Query, both_paths, endpoint, one_or_page
from tempclock.api.services import departments
from tempclock.api.services.common import Page
from tempclock.api.services.departments import Department, DepartmentFilter


class DepartmentController(Controller):
    path = "/"
    tags = ["Departments"]

    @endpoint("GET", both_paths("departments"), operation_id="list_departments",
              scope="departments:read", summary="List departments, or one with ?id=")
    def list_departments(self, identity: Identity,
                         params: Query[DepartmentFilter]) -> Page[Department] | One[Department]:
        account = identity.account_id
        return one_or_page(params, lambda i: departments.get_department(account, i),
                           lambda p: departments.list_departments(account, p))

    @endpoint("GET", "/departments/{department_id:int}", operation_id="get_department",
              scope="departments:read", summary="One department")
    def get_department(self, identity: Identity, department_id: FromPath[int]) -> One[Department]:
        return One(departments.get_department(identity.account_id, department_id))
