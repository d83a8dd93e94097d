"""FastAPI dependencies for routers: ``caller: Caller = Depends(current_caller)``.

``Depends(require_property(Properties.JOB_ADMINISTRATOR))`` gives the caller or answers 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from dirac_core.auth.authenticator import Authenticator, peer_dns_from_scope
from dirac_core.auth.caller import Caller
from dirac_core.errors import ConfigError, Unauthorized


def authenticator_of(request: Request) -> Authenticator:
    authenticator = getattr(request.app.state, "authenticator", None)
    if not isinstance(authenticator, Authenticator):
        raise ConfigError("app has no authenticator: build it with dirac_core.server.app.create_app")
    return authenticator


async def current_caller(request: Request) -> Caller:
    cached = request.scope.get("dirac_caller")
    if isinstance(cached, Caller):
        return cached
    # An app embedding a router without the runtime (router unit tests) sets the caller itself.
    preset = getattr(request.state, "caller", None)
    if isinstance(preset, Caller):
        return preset
    if getattr(request.app.state, "authenticator", None) is None:
        raise Unauthorized("no credentials: log in with `dirac login`")
    caller = authenticator_of(request).authenticate(
        request.headers.get("authorization"), peer_dns_from_scope(request.scope)
    )
    request.scope["dirac_caller"] = caller
    return caller


def require_property(*any_of: str) -> Callable[[Request], Awaitable[Caller]]:
    async def dependency(request: Request) -> Caller:
        caller = await current_caller(request)
        caller.require(*any_of)
        return caller

    return dependency
