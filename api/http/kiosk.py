"""The kiosk's routes under /kiosk/<token>: its page and files, its site, its punches.

No API key is involved: the token in the path is the only credential, and it opens
the clocking of one site and nothing else (`tempclock.api.services.kiosk`). The gate
lets /kiosk/ through unauthenticated and unlogged; everything else still needs a key.
`create_kiosk_app` serves these routes alone, for the second listener that
`tempclock serve --kiosk-host` opens on the local network.

Every answer says `Referrer-Policy: no-referrer` (the token is in the URL) and is not
cached by anything on the way; errors are the API's problem JSON. Tokens are 48 hex
characters, a shape the logs' redaction already replaces, so no logged path keeps one.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
from importlib import resources
from typing import NamedTuple

import msgspec
from litestar import Litestar, Request, Response, Router, get, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tempclock.api.http.body import ApiRequest, hung_up, nests_too_deep
from tempclock.api.http.errors import (
    EXCEPTION_HANDLERS,
    PROBLEM_MEDIA_TYPE,
    BodyTooLarge,
    logged_path,
    problem_body,
    problem_of,
    request_id_of,
)
from tempclock.api.http.gate import RequestContext, new_request_id
from tempclock.api.http.methods import HeadLikeGet
from tempclock.api.http.routing import run_read, run_write
from tempclock.api.services import kiosk
from tempclock.api.services.errors import DomainError, Invalid, NotFound

log = logging.getLogger("tempclock.api.http")

KIOSK_PREFIX = "/kiosk"
MAX_PUNCH_BYTES = 4 * 1024
PAGE = "index.html"
# The page's own files (resources/kiosk), and nothing else, with their content types.
ASSETS = {
    PAGE: "text/html; charset=utf-8",
    "kiosk.js": "text/javascript; charset=utf-8",
    "kiosk.css": "text/css; charset=utf-8",
    "sw.js": "text/javascript; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
    "icon.svg": "image/svg+xml",
    "icon-192.png": "image/png",
    "icon-512.png": "image/png",
}
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_JSON = "application/json"


@functools.cache
def _file(name: str) -> bytes:
    try:
        return (resources.files("tempclock.resources") / "kiosk" / name).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise NotFound("The kiosk page is not installed", code="not_found") from None


def _serve_file(name: str) -> Response[bytes]:
    # Litestar appends "; charset=utf-8" to a text/* type itself: name it once, not twice.
    media_type = ASSETS[name].removesuffix("; charset=utf-8")
    return Response(_file(name), media_type=media_type, headers=HEADERS)


def _json(value: msgspec.Struct) -> Response[bytes]:
    return Response(msgspec.json.encode(value), media_type=_JSON, headers=HEADERS)


@get(["/{token:str}", "/{token:str}/"], include_in_schema=False)
async def kiosk_page(token: FromPath[str]) -> Response[bytes]:
    """The kiosk page of a site (404 for an unknown or revoked token)."""
    await run_read(functools.partial(kiosk.check_token, token))
    return _serve_file(PAGE)


@get("/{token:str}/site", include_in_schema=False)
async def kiosk_site(token: FromPath[str]) -> Response[bytes]:
    """The site's name, time zone, clock and geofence, as the page shows them."""
    return _json(await run_read(functools.partial(kiosk.site, token)))


@get("/{token:str}/{asset:str}", include_in_schema=False)
async def kiosk_asset(token: FromPath[str], asset: FromPath[str]) -> Response[bytes]:
    """One of the page's own files (a fixed list)."""
    if asset not in ASSETS:
        raise NotFound("No such file", code="not_found")
    await run_read(functools.partial(kiosk.check_token, token))
    return _serve_file(asset)


def _punch_body(body: bytes) -> kiosk.Punch:
    """The punch a body asks for; 400 for anything else (the API's problem codes)."""
    if nests_too_deep(body):
        raise Invalid("Malformed JSON in request body: nested too deep", code="malformed_json")
    try:
        return msgspec.json.decode(body, type=kiosk.Punch)
    except msgspec.ValidationError as error:
        message = str(error)
        code = ("unknown_field" if "unknown field" in message
                else "missing_field" if "missing required field" in message else "invalid_field")
        raise Invalid(f"Invalid request body: {message.replace('`', '')}", code=code) from None
    except (msgspec.DecodeError, RecursionError):
        raise Invalid("Malformed JSON in request body: send a JSON object",
                      code="malformed_json") from None


@post("/{token:str}/punch", include_in_schema=False, status_code=200,
      request_max_body_size=MAX_PUNCH_BYTES)
async def kiosk_punch(token: FromPath[str], request: Request) -> Response[bytes]:
    """Clock the worker whose PIN this is, at this site."""
    data = _punch_body(await request.body())
    result = await run_write(functools.partial(
        kiosk.punch, token, data.pin, data.action, latitude=data.latitude,
        longitude=data.longitude, accuracy_m=data.accuracy_m, device_time=data.device_time,
        device_now=data.device_now, idempotency_key=data.idempotency_key))
    return _json(result)


class _Problem(NamedTuple):
    status: int
    body: bytes
    headers: dict[str, str]


def _problem(scope: Scope, exc: Exception) -> _Problem:
    """A kiosk route's error as problem JSON; logged (a 500 only) without the token."""
    if isinstance(exc, RequestEntityTooLarge):  # Litestar's, or ours: a punch's own limit
        exc = BodyTooLarge(MAX_PUNCH_BYTES)
    info = problem_of(exc)
    if info.status >= 500:
        log.error("%s %s failed (request %s)", scope["method"], logged_path(scope["path"]),
                  request_id_of(scope), exc_info=exc)
    headers = dict(HEADERS)
    retry_after = exc.details.get("retry_after") if isinstance(exc, DomainError) else None
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return _Problem(info.status, problem_body(info, request_id_of(scope)), headers)


def kiosk_problem(request: Request, exc: Exception) -> Response[bytes]:
    """The kiosk routes' exception handler (`_problem` as a Litestar response)."""
    problem = _problem(request.scope, exc)
    return Response(problem.body, status_code=problem.status, media_type=PROBLEM_MEDIA_TYPE,
                    headers=problem.headers)


# --- the punch, straight off the edge ----------------------------------------------------
# A kiosk punch is the one request that comes hundreds of times a second (bench/
# kiosk_punches.py: >= 500/s beside the API's load). Through Litestar's request, handler
# and response objects it cost ~350k instructions on top of the punch itself (callgrind);
# the edge answers `POST /kiosk/<token>/punch` itself with the same pieces the route uses
# (`_punch_body`, `run_write`, `_problem`), and the same headers. Anything else, a trailing
# slash or another method included, still goes through Litestar.
_PUNCH_PATH = re.compile(r"/kiosk/([^/]+)/punch")
_HEADER_LINES = [(name.lower().encode(), value.encode()) for name, value in HEADERS.items()]


async def _punch_body_of(scope: Scope, receive: Receive) -> bytes:
    """The request's body, refused as Litestar refuses it: 413 past `MAX_PUNCH_BYTES`
    (announced or sent), 400 when the client hangs up; read past a UTF-8 BOM (`ApiRequest`)."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > MAX_PUNCH_BYTES:
            raise RequestEntityTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            raise hung_up()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_PUNCH_BYTES:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = b"".join(chunks)
            return body[len(codecs.BOM_UTF8):] if body.startswith(codecs.BOM_UTF8) else body


async def _answer_punch(token: str, scope: Scope, receive: Receive, send: Send) -> None:
    """`kiosk_punch` without Litestar around it: the same answer, headers and errors."""
    try:
        data = _punch_body(await _punch_body_of(scope, receive))
        result = await run_write(functools.partial(
            kiosk.punch, token, data.pin, data.action, latitude=data.latitude,
            longitude=data.longitude, accuracy_m=data.accuracy_m,
            device_time=data.device_time, device_now=data.device_now,
            idempotency_key=data.idempotency_key))
        status, body, media_type = 200, msgspec.json.encode(result), _JSON
        headers = _HEADER_LINES
    except Exception as exc:  # noqa: BLE001 - every error leaves as problem JSON
        problem = _problem(scope, exc)
        status, body, media_type = problem.status, problem.body, PROBLEM_MEDIA_TYPE
        headers = [(name.lower().encode(), value.encode())
                   for name, value in problem.headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": [
        *headers, (b"content-type", media_type.encode()),
        (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def kiosk_router() -> Router:
    """The /kiosk routes, for the API's app and the kiosk listener's."""
    return Router(KIOSK_PREFIX, route_handlers=[kiosk_page, kiosk_site, kiosk_asset,
                                                kiosk_punch],
                  exception_handlers={Exception: kiosk_problem}, include_in_schema=False)


class KioskEdge:
    """The kiosk listener's edge: a request id for every request, as the API gate gives."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        context = RequestContext(new_request_id())
        scope["tempclock"] = context  # type: ignore[typeddict-unknown-key]
        header = (b"x-request-id", context.request_id.encode())

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        punch = _PUNCH_PATH.fullmatch(scope["path"]) if scope["method"] == "POST" else None
        if punch is not None:
            await _answer_punch(punch.group(1), scope, receive, send_with_request_id)
            return
        await self.app(scope, receive, send_with_request_id)


def create_kiosk_app() -> Litestar:
    """An app serving /kiosk/* alone (the store must already be open)."""
    app = Litestar(route_handlers=[kiosk_router()], exception_handlers=EXCEPTION_HANDLERS,
                   openapi_config=None, request_class=ApiRequest, logging_config=None)
    app.asgi_handler = KioskEdge(HeadLikeGet(app.asgi_handler, app))
    return app


__all__ = ["KIOSK_PREFIX", "create_kiosk_app", "kiosk_router"]
