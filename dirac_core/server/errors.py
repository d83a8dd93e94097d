"""The 500 of an unexpected exception, answered here instead of by Starlette's ServerErrorMiddleware.

Starlette answers an ``Exception`` handler's 500 and then re-raises, so uvicorn drops the keep-alive
connection without ``Connection: close`` and the client's next request on it fails with "Server
disconnected". This middleware (inside that one) logs the traceback, answers a 500 that says
``Connection: close`` (the request body may be half read) and does not re-raise.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("dirac_core.server")


class InternalErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # the status line is out: only closing the connection is left
                raise
            is_rpc = not str(scope.get("path", "")).startswith("/api/")
            message = "internal error: see the service log"
            body = {"OK": False, "Message": message, "ErrorType": "DiracError"} if is_rpc else {"detail": message}
            payload = json.dumps(body).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 500, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
