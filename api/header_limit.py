"""The HTTP protocol our uvicorn servers speak: httptools, request headers capped at 64 KiB.

uvicorn's httptools protocol has no limit on the size of a request's headers: the
parser buffers a header until it is complete, so one 10 MB header is read, and held,
in full. `HeaderLimitedProtocol` refuses a request whose request line and headers come
to more than `MAX_HEADER_BYTES` with a 431 problem (API.md), without reading on: once
the bytes received while the headers are still incomplete pass the limit, or once the
completed head adds up to more. A head is measured as it was sent: the method, version
and line ends count, and so does whitespace around a value (which the parser drops), by
finding where a head that came in several pieces (or one larger than the limit) ends.
Header fields after a chunked body (trailers) are held to the same limit, counted with
the chunk-size lines among the bytes received since the body's last content, and are
dropped: uvicorn would add each to the request's headers, and ASGI has no trailers.
The connection is then closed after a short linger in which whatever the client still
sends is discarded unread (so it gets the 431 rather than a reset); nothing of it is
buffered. A request the parser cannot read at all gets a 400 problem JSON too, not
uvicorn's plain text.

A request must also arrive in time: uvicorn has no header or body timeout (its
keep-alive timer stops at the first byte received), so a client that connects and sends
nothing, trickles a header line every few seconds, or declares a body it never sends,
would hold its connection (and, for the body, a request) open forever, and enough of
them exhaust the process's file descriptors. From the moment a connection is ready for
a request (opened, or its last response sent) its head must be complete within
`CLIENT_TIMEOUT_S`, and then its body must not stall for that long, nor take longer as a
whole than `BODY_TIMEOUT_S` plus a second for every `MIN_BODY_RATE` bytes (a byte sent
just within every pause would hold a request, or a refused request's connection, for
ever); else it gets a 408 problem (unless its answer has begun) and is closed.

This leans on uvicorn's internals, and only this module does. What it relies on
(`tests/integration/test_api_header_limit.py` checks each and names the one that broke):
- `uvicorn.Config(http=<a protocol class>)` serves connections with that class;
- `uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` feeds each chunk it receives
  to its httptools parser within `data_received`, and the parser calls back
  `on_url`, `on_header(name, value)` (once per header, complete),
  `on_headers_complete` (which starts the ASGI request), `on_body` and
  `on_message_complete` on the protocol;
- the protocol keeps its parser in `parser` (whose `get_method()` gives the method once
  the headers are complete), its connection in `transport` and the request being answered in
  `cycle` (None before the first), whose `response_complete` says whether it has been;
- a request the parser cannot read is answered by `send_400_response(msg)`, overridden
  here so that it too is a problem JSON;
- `connection_made(transport)`, `connection_lost(exc)` and `on_response_complete()` are
  called when a connection opens, closes and has sent a response, and the protocol's event
  loop is in `loop`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEADER_BYTES = 64 * 1024
LINGER_S = 2.0
CLIENT_TIMEOUT_S = 15.0  # for a head, or between a body's chunks: generous for any client
# A whole body: this long after its head, plus a second for every MIN_BODY_RATE bytes it has
# sent (the 1 MiB the API takes may arrive at 1 KiB/s: 18 minutes).
BODY_TIMEOUT_S = 60.0
MIN_BODY_RATE = 1024
# An idle kept-alive connection is closed after this long. uvicorn's default, 5 s, is httpx's
# pool expiry too: a pooled client counts from when it read the answer, later than the server
# when either is busy, so it sent on connections the server was closing (a reset, mid-flood).
# Under CLIENT_TIMEOUT_S, whose 408 would otherwise greet an idle connection.
KEEP_ALIVE_S = 10.0


def _problem_response(status: HTTPStatus, code: str, message: str) -> bytes:
    """A whole HTTP response carrying the problem JSON of API.md, closing the connection."""
    from tempclock.api.http.errors import PROBLEM_MEDIA_TYPE, ProblemInfo, problem_body
    from tempclock.api.http.gate import new_request_id

    request_id = new_request_id()
    body = problem_body(ProblemInfo(status=status.value, code=code, message=message),
                        request_id)
    return (f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            f"content-type: {PROBLEM_MEDIA_TYPE}\r\n"
            f"content-length: {len(body)}\r\n"
            f"x-request-id: {request_id}\r\n"
            "connection: close\r\n\r\n").encode("latin-1") + body


class HeaderLimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing requests with more than 64 KiB of headers (431).

    The callbacks that run for every request call `HttpToolsProtocol`'s own directly:
    `super()` costs ~0.2 us a call more, and they run eight or more times a request.
    """

    _head_open = True  # the next bytes belong to a request line or headers
    _received_in_head = 0  # bytes received while the current head is incomplete
    _head_before = 0  # of those, the bytes of pieces before the one being parsed
    _piece = b""  # the piece being parsed, while a head is incomplete
    _tail = b""  # the last bytes of the piece before it (where a head's end may begin)
    _head_bytes = 0  # the request target and header fields parsed so far
    _framing = 0  # bytes received in a body since its last content: chunk sizes, trailers
    _refused = False
    # The client's deadline (loop time), while we wait on it, and what to do when it passes.
    # Requests set and clear it; the one timer of the connection (`_clock`) is armed at or
    # before it and re-armed when it fires early, rather than a timer being made and
    # cancelled for every head and body: a `call_later` and its cancel cost each request
    # ~1 us and a libuv handle (bench/api_instructions.py: see `_start_clock`).
    _deadline: float | None = None
    _body_due = 0.0  # the body's deadline: BODY_TIMEOUT_S after its head, + 1 s a MIN_BODY_RATE
    _too_slow: Callable[[], None] | None = None
    _clock: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_clock(self._head_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        HttpToolsProtocol.on_response_complete(self)
        if self._head_open and not self.transport.is_closing():
            self._start_clock(self._head_too_slow)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering: discarded unread
        if self._head_open:  # counted before parsing: completing the head resets the count
            self._head_before = self._received_in_head
            self._received_in_head += len(data)
            self._piece = data
        else:  # in a body: content resets the count
            self._framing += len(data)
        HttpToolsProtocol.data_received(self, data)
        if self._refused:
            return
        if self._head_open:
            if self._received_in_head > MAX_HEADER_BYTES:
                self._refuse()
            else:
                self._tail = data[-3:]
        elif self._framing > MAX_HEADER_BYTES:  # no answer fits: the request has begun
            self._refused = True
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        if not self._refused:
            self._head_bytes += len(url)
            HttpToolsProtocol.on_url(self, url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused and self._head_open:  # else a trailer: dropped
            self._head_bytes += len(name) + len(value) + 4  # ": " and CRLF
            HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._head_open = False
        # The request line's method, two spaces, "HTTP/1.1" and CRLF, and the final CRLF.
        head_bytes = self._head_bytes + len(self.parser.get_method()) + 14
        if self._head_before or len(self._piece) > MAX_HEADER_BYTES:  # else it cannot be over
            head_bytes = max(head_bytes, self._head_bytes_sent())
        self._received_in_head = self._head_before = self._head_bytes = 0  # the next from 0
        self._piece = self._tail = b""
        self._framing = 0
        if head_bytes > MAX_HEADER_BYTES:
            self._stop_clock()
            self._refuse()
            return
        HttpToolsProtocol.on_headers_complete(self)
        self._start_clock(self._body_too_slow)  # stopped at once when there is none
        self._body_due = self._deadline - CLIENT_TIMEOUT_S + BODY_TIMEOUT_S  # now + ...

    def _head_bytes_sent(self) -> int:
        """The bytes of the head that ends in this piece, up to its first blank line (a head
        holds none before its end); 0 when it began within the piece after another request."""
        joined = self._tail + self._piece
        end = joined.find(b"\r\n\r\n")
        return 0 if end < 0 else self._head_before - len(self._tail) + end + 4

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            HttpToolsProtocol.on_body(self, body)
            self._framing = 0
            self._body_due += len(body) / MIN_BODY_RATE
            self._start_clock(self._body_too_slow, self._body_due)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        self._stop_clock()
        self._head_open = True
        HttpToolsProtocol.on_message_complete(self)

    def send_400_response(self, msg: str) -> None:
        """A request httptools cannot parse (say, control characters in a header): a 400
        problem, like every other refusal, rather than uvicorn's plain text."""
        self.transport.write(_problem_response(
            HTTPStatus.BAD_REQUEST, "malformed_request",
            "Malformed HTTP request: the request line or a header is not valid HTTP"))
        self.transport.close()

    def _start_clock(self, too_slow: Callable[[], None], due: float | None = None) -> None:
        """`too_slow` runs unless the clock is stopped within `CLIENT_TIMEOUT_S` from now
        (or by `due`, if that is sooner)."""
        self._deadline = self.loop.time() + CLIENT_TIMEOUT_S
        if due is not None and due < self._deadline:
            self._deadline = due
            if self._clock is not None and self._clock.when() > due:  # would fire too late
                self._clock.cancel()
                self._clock = None
        self._too_slow = too_slow
        if self._clock is None:  # else it fires earlier than this deadline, and re-arms
            self._clock = self.loop.call_at(self._deadline, self._clock_fired)

    def _stop_clock(self) -> None:
        self._deadline = None

    def _clock_fired(self) -> None:
        self._clock = None
        deadline, too_slow = self._deadline, self._too_slow
        if deadline is None or too_slow is None:
            return  # stopped since: nothing to wait on
        if self.loop.time() < deadline:  # moved on since it was armed
            self._clock = self.loop.call_at(deadline, self._clock_fired)
            return
        self._deadline = None
        too_slow()

    def _head_too_slow(self) -> None:
        """The head did not arrive in time: 408, unless a response is still being sent
        (a pipelined head waits for it), and close."""
        if not self._head_open or self._refused or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self._start_clock(self._head_too_slow)
            return
        self._time_out(f"The request's headers did not arrive within {CLIENT_TIMEOUT_S:g} "
                       "seconds", answer=True)

    def _body_too_slow(self) -> None:
        """The body stalled: 408 unless the answer has begun (then no answer fits), and close;
        the request still waiting for its body sees the client gone."""
        if self._head_open or self._refused or self.transport.is_closing():
            return
        self._time_out(f"The request's body stopped arriving for {CLIENT_TIMEOUT_S:g} seconds, "
                       f"or came slower than {MIN_BODY_RATE} bytes a second after "
                       f"{BODY_TIMEOUT_S:g} seconds",
                       answer=self.cycle is None or not self.cycle.response_started)

    def _time_out(self, message: str, *, answer: bool) -> None:
        self._refused = True
        if answer:
            self.transport.write(_problem_response(HTTPStatus.REQUEST_TIMEOUT,
                                                   "request_timeout", message))
        self.transport.close()

    def _refuse(self) -> None:
        """Answer 431 and stop reading the request; close after a short linger."""
        self._refused = True
        transport = self.transport
        if self.cycle is not None and not self.cycle.response_complete:
            transport.close()  # a pipelined request while another is answered: just go
            return
        transport.write(_problem_response(
            HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "headers_too_large",
            f"Request headers too large (at most {MAX_HEADER_BYTES // 1024} KiB in all)"))
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_S, transport.close)
