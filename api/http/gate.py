"""The gate every request passes before routing: request id, authentication, rate limit, logs.

It wraps the whole Litestar router, so an unknown path or a wrong method is
refused to an unauthenticated caller exactly like a known one. Only the docs
page, the OpenAPI document and the kiosk (/kiosk/..., whose token in the path is its
only credential, see http/kiosk.py) are public. For every request it:

1. gives it an `X-Request-ID`;
2. refuses (401, `WWW-Authenticate: Bearer`) a missing header, another scheme or a
   key `keys.verify_key` rejects, and (403) a key whose account has the API off;
   attempts with no key of ours count against the client address and the presented
   key's prefix, and once either has failed too often they are refused with 429;
   a valid key is never refused for what others did from its address;
3. counts every request presenting a known key (admitted or refused) against the
   key's rolling window, refusing with 429 and `Retry-After` when it is full, and
   puts the rate-limit headers on the response;
4. hands the request on with its `KeyIdentity` (the per-route scope check is a guard);
5. queues an API log entry (if a key was presented, or a 429) for the background
   writer, which aggregates the 429s (per address), and the 401s of a flood (more failed
   attempts from all addresses together than the limiter's logged budget) under
   "many addresses".
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import re
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tempclock.api.http.errors import PROBLEM_MEDIA_TYPE, ProblemInfo, problem_body, problem_of
from tempclock.api.http.ratelimit import RateDecision, RateLimiter
from tempclock.api.services import keys
from tempclock.api.services.api_logs import MANY_ADDRESSES, ApiLogEntry, ApiLogWriter
from tempclock.api.services.errors import DomainError, Kind, Unauthenticated
from tempclock.api.services.verified_keys import VerifiedKeys

log = logging.getLogger("tempclock.api.http")

PUBLIC_PREFIXES = ("/docs", "/kiosk/")  # the kiosk's token is its credential (http/kiosk.py)
_REQUEST_IDS = itertools.count(1)
_PROCESS_TAG = os.urandom(8).hex()


def new_request_id() -> str:
    """32 hex characters, unique across processes and restarts (random tag + counter)."""
    return f"{_PROCESS_TAG}{next(_REQUEST_IDS):016x}"
PUBLIC_PATHS = frozenset({"/api/v1/openapi.json"})


class RequestContext:
    """What the gate learned about a request; handlers and the error mapping read it."""

    __slots__ = ("error_code", "flood", "identity", "presented_prefix", "rate", "refused",
                 "request_id")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.identity: keys.KeyIdentity | None = None
        self.refused: keys.KeyIdentity | None = None  # a known key that was refused
        self.rate: RateDecision | None = None
        self.error_code: str | None = None
        self.flood = False  # a 401 past the logged budget of failures: tallied, not a row
        self.presented_prefix: str | None = None  # of a well-formed key that matched none


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


# `_authorization`'s answer for a request with several Authorization headers (an object no
# header value can be: an empty header is b"", which Python shares)
REPEATED: Any = object()


def _authorization(scope: Scope) -> bytes | None:
    """The request's one Authorization header; REPEATED when it sent several (which one a
    client, proxy or retry puts first varies, so none is chosen)."""
    found: bytes | None = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            if found is not None:
                return REPEATED
            found = value
    return found


def presented_key(authorization: bytes | None) -> str:
    """The key in an `Authorization: Bearer <key>` header, or the 401 that explains why not."""
    if authorization is None:
        raise Unauthenticated("Missing API key: send the header Authorization: Bearer <key>",
                              code="key_missing")
    if authorization is REPEATED:
        raise Unauthenticated("Send one Authorization header, not several",
                              code="auth_header_repeated")
    scheme, _, key = authorization.decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("Unsupported authorization scheme: use Authorization: Bearer <key>",
                              code="auth_scheme_unsupported")
    return key.strip()


Refusal = tuple[int, ProblemInfo, list[tuple[bytes, bytes]]]
PRESENTED_PREFIX_LENGTH = len(keys.KEY_PREFIX) + keys.DISPLAY_HEX  # as listings show a key
# Only what a listing shows of a key of ours is logged, never the start of another secret.
_LOGGABLE_PREFIX = re.compile(re.escape(keys.KEY_PREFIX) + f"[0-9a-f]{{{keys.DISPLAY_HEX}}}")


def _challenge(error: DomainError) -> list[tuple[bytes, bytes]]:
    """`WWW-Authenticate` for a 401."""
    if error.kind is Kind.UNAUTHENTICATED:
        return [(b"www-authenticate", b'Bearer realm="TempClock API"')]
    return []


class AuthGate:
    """ASGI wrapper around the Litestar router; see the module docstring."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, log_writer: ApiLogWriter) -> None:
        self.app = app
        self.limiter = limiter
        self.log_writer = log_writer
        self.verified_keys = VerifiedKeys()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = RequestContext(new_request_id())
        scope["tempclock"] = context  # type: ignore[typeddict-unknown-key]
        request_id_header = (b"x-request-id", context.request_id.encode())
        path: str = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            await self.app(scope, receive, _with_headers(send, [request_id_header], None))
            return

        authorization = _authorization(scope)
        client = scope.get("client")
        address = client[0] if client else ""
        status = [500]
        try:
            try:
                refusal = self._admit(context, authorization, address)
            except Exception as error:  # the rate-limit store (Redis) failed us: a logged 500
                log.error("rate limit check failed (request %s)", context.request_id,
                          exc_info=error)
                info = problem_of(error)
                context.error_code = info.code
                refusal = (info.status, info, [])
            if refusal is not None:
                status[0] = refusal[0]
                await _send_problem(send, *refusal, context, request_id_header)
                return
            assert context.rate is not None
            headers = [request_id_header, *context.rate.headers()]
            await self.app(scope, receive, _with_headers(send, headers, status))
        finally:
            # Keyless requests are not logged, except the refusals of a blocked address
            # (aggregated by the writer: see api_logs).
            if authorization is not None or status[0] == 429:
                self._log(scope, context, status[0], started, address)

    def _admit(self, context: RequestContext, authorization: bytes | None,
               address: str) -> Refusal | None:
        """None when the request may go on; else the status, problem and headers to refuse with."""
        presented: str | None = None
        try:
            presented = presented_key(authorization)
            identity = self.verified_keys.verify(presented)
        except DomainError as error:
            known: keys.KeyIdentity | None = error.identity  # type: ignore[assignment]
            if known is not None:  # revoked, expired, API off: its own window still counts
                context.refused = known
                return self._refuse_known_key(context, known, error)
            return self._refuse_failed_attempt(context, error, address, presented)
        except Exception as error:  # the store failed us: a 500, logged, like any other
            log.error("key check failed (request %s)", context.request_id, exc_info=error)
            info = problem_of(error)
            context.error_code = info.code
            return info.status, info, []
        context.identity = identity
        decision = self._take_slot(context, identity)
        if decision is not None:
            return decision
        keys.note_key_used(identity.key_id)
        return None

    def _take_slot(self, context: RequestContext,
                   identity: keys.KeyIdentity) -> Refusal | None:
        """Count the request against its key's window: the 429 when the window is full."""
        decision = self.limiter.take_for_key(identity.key_id, identity.rate_limit)
        context.rate = decision
        if decision.allowed:
            return None
        context.error_code = "rate_limited"
        info = ProblemInfo(status=429, code="rate_limited",
                           message=f"Rate limit exceeded. Maximum {identity.rate_limit} "
                                   "requests per minute.",
                           details={"retry_after": decision.reset})
        return 429, info, [(b"retry-after", str(decision.reset).encode()), *decision.headers()]

    def _refuse_known_key(self, context: RequestContext, known: keys.KeyIdentity,
                          error: DomainError) -> Refusal:
        """A known key refused (revoked, expired, API off): its refusal, or 429 once its
        window is full, so refusing it costs no more than serving it."""
        over_limit = self._take_slot(context, known)
        if over_limit is not None:
            return over_limit
        info = problem_of(error)
        context.error_code = info.code
        assert context.rate is not None
        return info.status, info, [*_challenge(error), *context.rate.headers()]

    def _refuse_failed_attempt(self, context: RequestContext, error: DomainError, address: str,
                               presented: str | None) -> Refusal:
        """No key, or none of ours: 401, or 429 once the address or the key prefix has
        failed too often."""
        prefix = presented[:PRESENTED_PREFIX_LENGTH].lower() if presented else None
        if prefix is not None and _LOGGABLE_PREFIX.fullmatch(prefix):
            context.presented_prefix = prefix  # someone guessing at one of our keys shows
        blocked = self.limiter.failures_blocked(address, prefix)
        if blocked is not None:
            context.error_code = "rate_limited"
            info = ProblemInfo(status=429, code="rate_limited",
                               message="Too many failed authentication attempts; retry in "
                                       f"{blocked.reset} seconds")
            return 429, info, [(b"retry-after", str(blocked.reset).encode())]
        self.limiter.count_auth_failure(address, prefix)
        context.flood = self.limiter.failure_flood()
        info = problem_of(error)
        context.error_code = info.code
        return info.status, info, _challenge(error)

    def _log(self, scope: Scope, context: RequestContext, status: int, started: float,
             address: str) -> None:
        identity = context.identity or context.refused
        user_agent = _header(scope, b"user-agent")
        self.log_writer.record(ApiLogEntry(
            created_at=dt.datetime.now(dt.UTC),
            account_id=identity.account_id if identity else None,
            key_id=identity.key_id if identity else None,
            key_name=identity.name if identity else None,
            key_prefix=identity.prefix if identity else context.presented_prefix,
            method=scope["method"],
            path=scope["path"],
            query=_text(scope["query_string"]),
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            client=MANY_ADDRESSES if context.flood else address,
            user_agent=_text(user_agent) if user_agent else "",
            request_id=context.request_id,
            error_code=context.error_code,
        ))


def _text(raw: bytes) -> str:
    """Header or query bytes as the client meant them: UTF-8, as every client sends today,
    else ISO-8859-1 (RFC 9110's obs-text), so nothing is lost either way."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _with_headers(send: Send, headers: list[tuple[bytes, bytes]],
                  status: list[int] | None) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
            if status is not None:
                status[0] = message["status"]
        await send(message)

    return send_with_headers


async def _send_problem(send: Send, status: int, info: ProblemInfo,
                        headers: list[tuple[bytes, bytes]], context: RequestContext,
                        request_id_header: tuple[bytes, bytes]) -> None:
    body = problem_body(info, context.request_id)
    response_headers: list[Any] = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        request_id_header,
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
