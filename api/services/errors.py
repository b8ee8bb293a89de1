"""Domain errors: values with a stable code, raised by services.

The HTTP layer maps each `kind` to a status and the desktop shows `message`;
neither decides what is an error. `code` is part of the API contract.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Kind(Enum):
    """What sort of refusal an error is; one mapping per edge turns it into a status."""

    INVALID = "invalid"  # the request itself is wrong (400)
    UNAUTHENTICATED = "unauthenticated"  # no usable key (401)
    FORBIDDEN = "forbidden"  # a usable key that may not do this (403)
    NOT_FOUND = "not_found"  # missing, or another account's (404)
    CONFLICT = "conflict"  # the current state forbids it (409)
    UNPROCESSABLE = "unprocessable"  # well formed, but too late to apply (422)
    TOO_MANY = "too_many"  # too many attempts; retry after a while (429)


class DomainError(Exception):
    """Base class: a refusal with a stable `code` and a message for people."""

    kind: Kind = Kind.INVALID
    code: str = "invalid"
    identity: object | None = None  # a refused API key's identity, for logs only

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class Invalid(DomainError):
    """Bad input: a missing or malformed field, an out-of-range value."""

    kind = Kind.INVALID
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.field = field


class NotFound(DomainError):
    """The thing does not exist in this account (whether or not it exists elsewhere)."""

    kind = Kind.NOT_FOUND
    code = "not_found"

    @classmethod
    def of(cls, what: str, ident: object) -> NotFound:
        return cls(f"{what} {ident} not found")


class Conflict(DomainError):
    """The request is well formed but the current state forbids it."""

    kind = Kind.CONFLICT
    code = "conflict"


class Forbidden(DomainError):
    """Refused by a rule of the account (a geofence, disabled API access, a missing scope)."""

    kind = Kind.FORBIDDEN
    code = "forbidden"


class Unprocessable(DomainError):
    """Well formed and understood, but it cannot be applied (a queued punch too old)."""

    kind = Kind.UNPROCESSABLE
    code = "unprocessable"


class TooMany(DomainError):
    """Too many attempts (wrong kiosk PINs); `retry_after` says how many seconds to wait."""

    kind = Kind.TOO_MANY
    code = "too_many_attempts"


class Unauthenticated(DomainError):
    """The presented API key cannot be used at all."""

    kind = Kind.UNAUTHENTICATED
    code = "unauthenticated"


def require(value: Any, field: str) -> Any:
    """Return `value`, or raise the contract's "Missing required field" error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(f"Missing required field: {field}", field=field, code="missing_field")
    return value
