"""One exception hierarchy for the whole product.

Every error carries the HTTP status it maps to, so the service runtime, the RPC layer and the
CLI all report the same readable one-line message. Messages name the problem *and* the fix.
"""

from __future__ import annotations


class DiracError(Exception):
    """Base error: `str(err)` is one readable line for operators and users."""

    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class BadRequest(DiracError):
    http_status = 400


class Unauthorized(DiracError):
    http_status = 401


class Forbidden(DiracError):
    http_status = 403


class NotFound(DiracError):
    http_status = 404


class Conflict(DiracError):
    """The request is valid but clashes with the current state (illegal transition, duplicate)."""

    http_status = 409


class PayloadTooLarge(DiracError):
    http_status = 413


class ConfigError(DiracError):
    """Configuration is missing or invalid; the message names the file:line or CS path."""

    http_status = 500


class ServiceUnavailable(DiracError):
    http_status = 503


class InsufficientStorage(DiracError):
    """The server's disk is full: the request was fine and may be sent again once space is freed."""

    http_status = 507


def error_class_named(name: str | None) -> type[DiracError] | None:
    """The DiracError subclass called `name` (as sent in RPC replies' ``ErrorType``), if any."""
    if not name:
        return None
    for cls in _all_error_classes():
        if cls.__name__ == name:
            return cls
    return None


def error_for_status(status: int, message: str) -> DiracError:
    """Rebuild the error a server raised from its HTTP status (client side)."""
    for cls in _all_error_classes():
        if cls is not DiracError and cls.http_status == status and cls is not ConfigError:
            return cls(message)
    return DiracError(message)


def _all_error_classes() -> list[type[DiracError]]:
    found: list[type[DiracError]] = []
    pending: list[type[DiracError]] = [DiracError]
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
