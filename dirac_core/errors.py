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
