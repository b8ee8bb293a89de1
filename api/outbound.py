"""The HTTP client deliveries go out through: it connects only where the egress policy allows.

httpx resolves a host name when it opens a connection. Checking the name
beforehand would leave a gap (a name can answer differently a moment later), so
the check happens inside the connection itself: the network backend below looks
the name up, checks every address (`tempclock.api.services.egress.resolve`), and connects
to a checked address. TLS is still verified against the name in the URL.

httpx has no public setting for the network backend of its connection pool, so
`PolicedTransport` replaces the pool it builds with one that has ours: the one
place we lean on httpx internals (`HTTPTransport._pool`). An upgrade that moves it
fails at start with a message saying so, and tests/integration/test_api_egress.py
("a name that resolves to this PC is refused when connecting") checks the effect.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import httpcore
import httpx

from tempclock.api.services import egress


class PolicedBackend(httpcore.SyncBackend):
    """Opens TCP connections only to addresses the egress policy allows."""

    def __init__(self, *, allow_internal: bool) -> None:
        self.allow_internal = allow_internal

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Any = None) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in self._checked_addresses(host, port):  # the first that answers
            try:
                return super().connect_tcp(address, port, timeout, local_address,
                                           socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
        assert last is not None  # there is always at least one address
        raise last

    def _checked_addresses(self, host: str, port: int) -> list[str]:
        """The addresses to try: the one in the URL, or every one the name resolves to."""
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            try:
                return egress.resolve(host, port, allow_internal=self.allow_internal)
            except OSError as error:  # the name does not resolve (now): retried later
                raise httpcore.ConnectError(str(error)) from error
        egress.check_address(literal, allow_internal=self.allow_internal)
        return [host]


class PolicedTransport(httpx.HTTPTransport):
    """httpx's transport, its connection pool using `PolicedBackend`."""

    def __init__(self, *, allow_internal: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport no longer keeps its pool in `_pool`: "
                               "api/outbound.py must be updated for this httpx version")
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PolicedBackend(allow_internal=allow_internal))


def delivery_client(*, allow_internal: bool, timeout: httpx.Timeout, limits: httpx.Limits,
                    user_agent: str) -> httpx.Client:
    """A client for deliveries of accounts with (or without) the internal-targets allowance.

    It ignores proxy settings from the environment: a proxy would resolve names
    itself, out of the policy's sight. It never follows redirects.
    """
    return httpx.Client(transport=PolicedTransport(allow_internal=allow_internal, limits=limits),
                        timeout=timeout, headers={"User-Agent": user_agent},
                        follow_redirects=False, trust_env=False)


def failure_reason(error: httpx.HTTPError) -> str:
    """Why a send failed, in words of our own: never what the receiver sent back."""
    if isinstance(error, httpx.TimeoutException):
        return f"{type(error).__name__}: timed out"
    if isinstance(error, httpx.ConnectError):  # words of the OS or the TLS library
        return f"ConnectError: {error}"[:200]
    if isinstance(error, httpx.NetworkError):
        return f"{type(error).__name__}: the connection was lost"
    if isinstance(error, httpx.ProtocolError | httpx.DecodingError):
        return f"{type(error).__name__}: the receiver's answer was not valid HTTP"
    return type(error).__name__
