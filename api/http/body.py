"""Reading a request's JSON body: absurd nesting is a 400, never a RecursionError.

Litestar decodes a body with msgspec and turns only `msgspec.DecodeError` into a 400;
msgspec refuses deep nesting with a RecursionError (at the interpreter's recursion
limit, which differs between Python versions), which would leave as a 500. No body of
this API nests more than a few levels, so a body nesting deeper than `MAX_JSON_DEPTH`
is refused before it is decoded, and a RecursionError while decoding all the same is
refused like it.
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from litestar import Request
from litestar.exceptions import InternalServerException, SerializationException

from tempclock.api.services.errors import Invalid

MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_TOO_DEEP = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def nests_too_deep(body: bytes) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `MAX_JSON_DEPTH`.

    Cheap for every body, all in C: one with no more opening brackets than the limit
    cannot nest deeper; of another, only the brackets outside strings are kept and
    innermost pairs removed one level at a time. Brackets that do not pair up are left to
    the decoder, which calls the body malformed.
    """
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _STRING.sub(b"", body).translate(_AS_SQUARE, _NOT_BRACKETS)
    for _ in range(MAX_JSON_DEPTH):
        inner = brackets.replace(b"[]", b"")  # one level: pairs it makes are left to the next
        if not inner or inner == brackets:
            return False
        brackets = inner
    return True


def hung_up() -> Invalid:
    """The refusal of a body the client stopped sending (it hung up half way)."""
    return Invalid("The client closed the connection before sending the whole body",
                   code="client_disconnected")


class ApiRequest(Request[Any, Any, Any]):
    """The request class of the API: its JSON body is refused (400) when nested absurdly deep,
    and read past a UTF-8 byte-order mark (RFC 8259 8.1: .NET's UTF-8 writers put one)."""

    async def body(self) -> bytes:
        try:
            body = await super().body()
        except InternalServerException as error:  # Litestar's word for the client hanging up
            raise hung_up() from error
        return body[len(codecs.BOM_UTF8):] if body.startswith(codecs.BOM_UTF8) else body

    async def json(self) -> Any:
        body = await self.body()
        if nests_too_deep(body):
            raise SerializationException(_TOO_DEEP)
        try:
            return await super().json()
        except RecursionError as error:
            raise SerializationException(_TOO_DEEP) from error
