"""`create_app()`: the integrator API of API.md as one Litestar application.

Request path: `AuthGate` (request id, key, rate limit, logs) → `HeadLikeGet` → Litestar router →
scope guard → a thin controller → `api/services`. Errors of every kind leave
through `tempclock.api.http.errors`. The store must be open before the app serves.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec
from litestar import Litestar, Router
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, OpenAPIType, SecurityScheme, Server, Tag

from tempclock.api.http.body import ApiRequest
from tempclock.api.http.controllers import CONTROLLERS
from tempclock.api.http.docs import OPENAPI_PATH, docs_routes
from tempclock.api.http.errors import EXCEPTION_HANDLERS, MAX_BODY_BYTES
from tempclock.api.http.gate import AuthGate
from tempclock.api.http.kiosk import kiosk_router
from tempclock.api.http.methods import HeadLikeGet
from tempclock.api.http.ratelimit import RateLimiter
from tempclock.api.http.routing import check_scope
from tempclock.api.services import idempotency
from tempclock.api.services.api_logs import ApiLogWriter

API_PREFIX = "/api/v1"

_DESCRIPTION = """\
The TempClock v1 integrator API, served by the agency's own TempClock Desktop.

Every request needs `Authorization: Bearer <key>` (keys are issued in the desktop app
or with `tempclock keys issue`). Every endpoint answers on its clean path (`/workers`)
and its TempClock path (`/workers.php`). Each key may make 60 requests per rolling
minute unless the admin set another limit; see the `X-RateLimit-*` headers.
Errors are `application/problem+json` with a stable `code`.
"""


def _openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="TempClock API",
        version="1.1.0",
        description=_DESCRIPTION,
        servers=[Server(url="/", description="This TempClock Desktop")],
        path=OPENAPI_PATH,
        render_plugins=[JsonRenderPlugin(path="/")],
        security=[{"bearer": []}],
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="tc_live_...",
                                     description="An API key issued by the admin."),
        }),
        tags=[Tag(name=c.tags[0]) for c in CONTROLLERS],
        use_handler_docstrings=False,
    )


# Fields a request struct leaves optional (so a missing one gets TempClock's "Missing
# required field: ..." message from the services) that the API still requires.
_REQUIRED_BODY_FIELDS = {
    "ClockRequest": ("worker_id", "action"),
    "ShiftCreate": ("location_id", "start", "end"),
    "WebhookCreate": ("url",),
}


def _describe_request_bodies(app: Litestar) -> None:
    """Say in the OpenAPI document what the request structs enforce: no unknown fields
    (`forbid_unknown_fields`, answered with 400) and the fields the API requires."""
    components = app.openapi_schema.components.schemas or {}
    for struct in _request_structs():
        schema = components.get(struct.__name__)
        if schema is None:
            continue
        schema.additional_properties = False
        required = _REQUIRED_BODY_FIELDS.get(struct.__name__, ())
        if required:
            schema.required = sorted({*(schema.required or ()), *required})
            for name in required:  # the services refuse a null one as missing too
                schema.properties[name] = _not_null(schema.properties[name])


def _not_null(schema: Any) -> Any:
    """A property's schema without its `null` alternative."""
    others = [s for s in schema.one_of or () if getattr(s, "type", None) != OpenAPIType.NULL]
    return others[0] if len(others) == 1 else schema


def _describe_scopes(app: Litestar) -> None:
    """Name each operation's scope in its security requirement (OpenAPI 3.1 lets an http
    scheme list the roles it needs), so integrators see which key an endpoint takes."""
    paths = app.openapi_schema.paths or {}
    for route in app.routes:
        item = paths.get(re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path))
        for handler in getattr(route, "route_handlers", ()):
            scope = handler.opt.get("scope")
            for method in handler.http_methods if scope and item else ():
                # Every scoped handler is in the schema: its path item has this operation.
                getattr(item, method.lower()).security = [{"bearer": [scope]}]


def _request_structs() -> list[type[msgspec.Struct]]:
    from tempclock.api.services import clocking, shifts, webhooks, workers

    return [value for module in (clocking, shifts, webhooks, workers)
            for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, msgspec.Struct)
            and value.__struct_config__.forbid_unknown_fields]


def create_app(
    *,
    limiter: RateLimiter | None = None,
    log_writer: ApiLogWriter | None = None,
    debug: bool = False,
) -> Litestar:
    """Build the API application (the store must already be open).

    `limiter` defaults to in-memory limits; `log_writer` to a new background
    writer, started with the app and flushed when it shuts down.
    """
    limiter = limiter or RateLimiter()
    writer = log_writer or ApiLogWriter(maintenance=(idempotency.purge_expired,))
    api = Router(
        API_PREFIX,
        route_handlers=list(CONTROLLERS),  # each declares its bearer scope (`endpoint`)
        before_request=check_scope,
    )
    app = Litestar(
        route_handlers=[api, *docs_routes(), kiosk_router()],  # /kiosk: no key (gate.py)
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=_openapi_config(),
        request_max_body_size=MAX_BODY_BYTES,
        request_class=ApiRequest,
        on_startup=[writer.start, _describe_request_bodies],
        on_shutdown=[lambda: writer.close()],
        debug=debug,
        logging_config=None,
    )
    app.on_startup.append(_describe_scopes)
    app.asgi_handler = AuthGate(HeadLikeGet(app.asgi_handler, app), limiter=limiter,
                               log_writer=writer)
    app.state.log_writer = writer
    app.state.limiter = limiter
    return app


@functools.cache
def _routes() -> Litestar:
    return Litestar(route_handlers=[Router(API_PREFIX, route_handlers=list(CONTROLLERS))],
                    openapi_config=None, logging_config=None)


def scope_needed(method: str, path: str) -> str | None:
    """The scope a request needs, read from the routes' own declarations (`endpoint`): what
    the API-logs alerts tell the admin to grant. None when no route answers it."""
    try:
        handler = _routes().asgi_router.handle_routing(path, method.upper())[1]  # type: ignore[arg-type]
    except HTTPException:
        return None
    return handler.opt.get("scope")
