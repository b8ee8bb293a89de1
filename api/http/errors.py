"""The one mapping from errors to HTTP problems.

Domain errors (by kind), framework exceptions (validation, unknown path, wrong
method, body too large) and anything unexpected all become the body of API.md:
TempClock's fields plus the RFC 9457 members, a stable `code` and the request
id, served as `application/problem+json`. A 500 is logged here with its
traceback and the client learns nothing of its cause.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec

from tempclock.api.http.methods import allow_with_head
from tempclock.api.services.api_logs import redact
from tempclock.api.services.display import printable
from tempclock.api.services.errors import DomainError, Kind

log = logging.getLogger("tempclock.api.http")

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:tempclock:problem:"

STATUS_OF_KIND: dict[Kind, int] = {
    Kind.INVALID: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.FORBIDDEN: 403,
    Kind.NOT_FOUND: 404,
    Kind.CONFLICT: 409,
    Kind.UNPROCESSABLE: 422,
    Kind.TOO_MANY: 429,
}

CODE_OF_STATUS: dict[int, str] = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    429: "rate_limited",
    500: "internal_error",
}


class Problem(msgspec.Struct, kw_only=True):
    """The error body: TempClock's `error`/`status`/`message`, RFC 9457 members, code, request id.

    Some errors add details, e.g. `entry_id` for `already_clocked_in`.
    """

    error: bool = True
    status: int
    message: str
    type: str
    title: str
    detail: str
    code: str
    request_id: str


class ProblemInfo(msgspec.Struct, kw_only=True):
    """What an error amounts to before it is shaped into a body."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


def problem_body(info: ProblemInfo, request_id: str) -> bytes:
    """The JSON body of a problem. Anything in it shaped like a key (a key pasted into a
    field, a URL or a field name, echoed back by a message) is redacted, so a refusal
    never spreads a key into the caller's own error logs."""
    message = redact(info.message)
    title = HTTPStatus(info.status).phrase if info.status in HTTPStatus._value2member_map_ \
        else "Error"
    body: dict[str, Any] = {
        "error": True,
        "status": info.status,
        "message": message,
        "type": TYPE_PREFIX + info.code.replace("_", "-").replace(".", "-"),
        "title": title,
        "detail": message,
        "code": info.code,
        "request_id": request_id,
    }
    for name, value in info.details.items():
        if value is not None and name not in body:
            body[name] = redact(value) if isinstance(value, str) else value
    return msgspec.json.encode(body)


# --- what an exception amounts to ------------------------------------------------------

_BACKTICKS = re.compile(r"`([^`]*)`")
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `([^`]*)`")
_MISSING_FIELD = re.compile(r"Object missing required field `([^`]*)`")
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")


def _plain(message: str) -> str:
    return _BACKTICKS.sub(r"\1", message)


def _validation(exc: ValidationException) -> ProblemInfo:
    extra = exc.extra if isinstance(exc.extra, list) else []
    problem = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = str(problem.get("message", "")) or "Invalid request"
    key = str(problem.get("key") or "")
    source = problem.get("source")
    if source == "body":
        at = _AT_PATH.search(message)
        # Litestar names the object holding a nested unknown or missing field in `key`.
        parent = at.group(1) if at and at.group(1) else (key if key != "data" else "")
        prefix = f"{parent}." if parent else ""
        message = _AT_PATH.sub("", message)
        if m := _UNKNOWN_FIELD.fullmatch(message):
            return ProblemInfo(status=400, code="unknown_field",
                               message=f"Unknown field: {prefix}{m.group(1)}",
                               details={"field": prefix + m.group(1)})
        if m := _MISSING_FIELD.fullmatch(message):
            return ProblemInfo(status=400, code="missing_field",
                               message=f"Missing required field: {prefix}{m.group(1)}",
                               details={"field": prefix + m.group(1)})
        if message == "'data'" or not message.strip("'"):
            return ProblemInfo(status=400, code="missing_body",
                               message="Missing request body: send a JSON object")
        field = prefix.rstrip(".") or (key if key != "data" else "")
        where = f"Invalid field {field}" if field else "Invalid request body"
        return ProblemInfo(status=400, code="invalid_field", message=f"{where}: {_plain(message)}",
                           details={"field": field or None})
    if source in ("query", "header", "path", "cookie"):
        kind = {"query": "query parameter", "header": "header", "path": "path parameter",
                "cookie": "cookie"}[source]
        return ProblemInfo(status=400, code="invalid_parameter",
                           message=f"Invalid {kind} {key}: {_plain(message)}",
                           details={"parameter": key})
    return ProblemInfo(status=400, code="invalid", message=_plain(message))


MAX_BODY_BYTES = 1024 * 1024  # an API request's body; a route may set a smaller limit


def _size(limit: int) -> str:
    return f"{limit // 1048576} MiB" if limit % 1048576 == 0 else (
        f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes")


class BodyTooLarge(RequestEntityTooLarge):
    """413 naming the limit that refused the body (a route's own, such as a kiosk punch's)."""

    def __init__(self, limit: int) -> None:
        super().__init__(detail=f"Request body too large (at most {_size(limit)})")


def problem_of(exc: BaseException) -> ProblemInfo:
    """The problem an exception amounts to; anything unknown is a 500 without details."""
    if isinstance(exc, DomainError):
        details = {k: v for k, v in exc.details.items() if isinstance(v, str | int | float)}
        return ProblemInfo(status=STATUS_OF_KIND[exc.kind], code=exc.code, message=exc.message,
                           details=details)
    if isinstance(exc, ValidationException):
        return _validation(exc)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 400:
            return ProblemInfo(status=400, code="malformed_json",
                               message=f"Malformed JSON in request body: {exc.detail}")
        message = exc.detail if isinstance(exc, BodyTooLarge) else {
            404: "No such endpoint",
            405: "Method not allowed on this endpoint",
            413: f"Request body too large (at most {_size(MAX_BODY_BYTES)})",
        }.get(status, exc.detail or HTTPStatus(status).phrase)
        return ProblemInfo(status=status, code=CODE_OF_STATUS.get(status, "error"),
                           message=message)
    if isinstance(exc, OverflowError):  # a number too large for the store
        return ProblemInfo(status=400, code="out_of_range", message="A number is out of range")
    return ProblemInfo(status=500, code="internal_error",
                       message="Internal server error; the request id identifies it in the logs")


def logged_path(path: str) -> str:
    """A request's path as the server's log shows it: no key, and no character that could
    drive the terminal or journal it is read in (escaped, as `tempclock logs` does)."""
    return printable(redact(path))


def request_id_of(scope: Any) -> str:
    context = scope.get("tempclock")
    return context.request_id if context is not None else ""


def problem_response(request: Request, exc: Exception) -> Response[bytes]:
    """Litestar exception handler: every error leaves through here."""
    info = problem_of(exc)
    if info.status >= 500:
        log.error("%s %s failed (request %s)", request.method, logged_path(request.url.path),
                  request_id_of(request.scope), exc_info=exc)
    request.scope["tempclock"].error_code = info.code  # the gate's context: every request has one
    headers = {}
    if info.status == 405 and isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
        if "allow" in headers:  # Litestar's names the path's methods; HEAD goes with GET
            headers["allow"] = allow_with_head(headers["allow"])
    return Response(content=problem_body(info, request_id_of(request.scope)),
                    status_code=info.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


EXCEPTION_HANDLERS = {Exception: problem_response}


def error_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """The OpenAPI description of the error statuses a handler can answer."""
    descriptions = {
        400: "Bad or missing parameter or field, malformed JSON",
        401: "No usable API key (see WWW-Authenticate)",
        403: "API access disabled for the account, or the key lacks the scope",
        404: "Not found in this account",
        409: "The current state forbids it",
        413: "Request body too large",
        429: "Rate limit exceeded (see Retry-After)",
    }
    return {
        status: ResponseSpec(data_container=Problem, description=descriptions[status],
                             media_type=PROBLEM_MEDIA_TYPE, generate_examples=False)
        for status in statuses
    }
