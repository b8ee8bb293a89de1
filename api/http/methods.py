"""HEAD and OPTIONS on every path, as API.md's Methods paragraph promises.

`HeadLikeGet` wraps the Litestar router inside the gate (so both are authenticated,
counted and logged like any request): a HEAD is routed as the GET of its path and its
answer goes out with the GET's status and headers (Content-Type, Content-Length, the
rate-limit headers) and no body (RFC 9110 §9.3.2). OPTIONS is Litestar's automatic
route (204), whose `Allow` is set here from the path's routes: Litestar 2.25 builds
that route with the first handler registered on a path and names only its methods.
Wherever GET is allowed, `Allow` (of a 204 or a 405) names HEAD too: a 405's through
`allow_with_head`, which the error handler applies, so requests of other methods (the
GETs that are most of the traffic) pass through without a wrapped `send`.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


class HeadLikeGet:
    """ASGI wrapper: HEAD answered as GET without a body; `Allow` as the path really allows."""

    def __init__(self, handler: ASGIApp, app: Litestar) -> None:
        self.handler = handler
        methods: dict[str, set[str]] = {}
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                methods.setdefault(route.path_format, set()).update(route.methods)
        self.allow_of_path = {path: _allow(found) for path, found in methods.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"] if scope["type"] == "http" else None
        if method != "HEAD" and method != "OPTIONS":  # a 405's Allow: see allow_with_head
            await self.handler(scope, receive, send)
            return
        head = method == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}  # the gate's own scope still says HEAD
        options = not head

        async def send_as_asked(message: Message) -> None:
            if options and message["type"] == "http.response.start":
                routed = self.allow_of_path.get(scope.get("path_template", ""))
                message["headers"] = [
                    (name, allow_with_head(value, routed)) if name in (b"allow", "allow")
                    else (name, value) for name, value in message.get("headers", ())]
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.handler(scope, receive, send_as_asked)


def _allow(methods: set[str]) -> str:
    return ", ".join(sorted(methods | ({"HEAD"} if "GET" in methods else set())))


def allow_with_head(value: bytes | str, routed: str | None = None) -> bytes | str:
    """An `Allow` value (Litestar's, or `routed`: the path's own) with HEAD wherever GET is."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    allow = routed or _allow({method.strip() for method in text.split(",") if method.strip()})
    return allow.encode("latin-1") if isinstance(value, bytes) else allow
