"""Request body size limit, enforced on the declared length *and* while the body streams in."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dirac_core.errors import ConfigError, PayloadTooLarge

DEFAULT_MAX_REQUEST_SIZE = 64 * 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def parse_size(raw: str, option: str = "MaxRequestSize") -> int:
    """``65536``, ``64M``, ``64MiB``, ``1G`` -> bytes (binary units)."""
    match = _SIZE.match(raw)
    if not match:
        raise ConfigError(f"{option} = {raw!r} is not a size: write bytes or e.g. 64M / 1G")
    unit = (match.group(2) or "").upper()[:1]
    return int(match.group(1)) * _UNITS[unit]


def too_large_message(limit: int) -> str:
    return (
        f"request body exceeds the {_human(limit)} limit of this service: "
        "send less data per call or raise MaxRequestSize"
    )


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


class BodyTooLarge(HTTPException):
    """Raised from ``receive()``: an HTTPException so FastAPI's body parsing passes it through (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=too_large_message(limit))

    def as_dirac_error(self) -> PayloadTooLarge:
        return PayloadTooLarge(str(self.detail))


class BodySizeLimit:
    """ASGI middleware: 413 up front for a too-large Content-Length, `PayloadTooLarge` mid-stream.

    The mid-stream error is raised from ``receive()`` inside the endpoint, so the app answers 413
    (REST ``detail`` or RPC ``Message``) and the endpoint never sees the data.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_REQUEST_SIZE) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _reject(send, scope, self.max_bytes)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, scope: Scope, limit: int) -> None:
    message = too_large_message(limit)
    is_rpc = not str(scope.get("path", "")).startswith("/api/")
    body: dict[str, Any] = (
        {"OK": False, "Message": message, "ErrorType": "PayloadTooLarge"} if is_rpc else {"detail": message}
    )
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
