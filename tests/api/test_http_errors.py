"""The one mapping from errors to problem bodies."""

from __future__ import annotations

import msgspec
from litestar.exceptions import MethodNotAllowedException, NotFoundException, ValidationException

from tempclock.api.http.errors import problem_body, problem_of
from tempclock.api.services.errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated


def test_domain_errors_map_by_kind():
    assert problem_of(Invalid("bad")).status == 400
    assert problem_of(Unauthenticated("who", code="key_unknown")).status == 401
    assert problem_of(Forbidden("no", code="scope_missing")).status == 403
    assert problem_of(NotFound.of("Worker", 4)).status == 404
    conflict = problem_of(Conflict("Worker 142 is already clocked in", code="already_clocked_in",
                                   entry_id=9))
    assert (conflict.status, conflict.code, conflict.details) == (
        409, "already_clocked_in", {"entry_id": 9})


def test_the_body_has_tempclock_and_rfc9457_members():
    info = problem_of(Conflict("Worker 142 is already clocked in", code="already_clocked_in",
                               entry_id=9))
    assert msgspec.json.decode(problem_body(info, "req-1")) == {
        "error": True, "status": 409, "message": "Worker 142 is already clocked in",
        "type": "urn:tempclock:problem:already-clocked-in", "title": "Conflict",
        "detail": "Worker 142 is already clocked in", "code": "already_clocked_in",
        "request_id": "req-1", "entry_id": 9}


def test_framework_errors_get_codes():
    assert problem_of(NotFoundException()).code == "not_found"
    assert problem_of(MethodNotAllowedException()).code == "method_not_allowed"
    invalid = problem_of(ValidationException(extra=[{"message": "Expected `int`, got `str`",
                                                     "key": "limit", "source": "query"}]))
    assert (invalid.status, invalid.code) == (400, "invalid_parameter")
    assert invalid.message == "Invalid query parameter limit: Expected int, got str"


def test_an_unexpected_error_reveals_nothing():
    info = problem_of(RuntimeError("password=hunter2 at /srv/secret.py line 3"))
    assert (info.status, info.code) == (500, "internal_error")
    assert "hunter2" not in info.message and "secret" not in info.message
