"""Build the FastAPI app of one component: REST under ``/api/<System>/<Service>``, DIRAC RPC at
``POST /<System>/<Service>``, ``/health``, OpenAPI at ``/openapi.json`` and ``/docs``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from dirac_core import __version__
from dirac_core.auth.authenticator import Authenticator
from dirac_core.auth.dependencies import current_caller
from dirac_core.auth.registry import Registry
from dirac_core.auth.settings import token_settings
from dirac_core.auth.tokens import TokenVerifier, load_verification_key
from dirac_core.config.cfg import Config
from dirac_core.errors import DiracError, Unauthorized
from dirac_core.server.dispatch import RpcTable
from dirac_core.server.errors import InternalErrors
from dirac_core.server.limits import DEFAULT_MAX_REQUEST_SIZE, BodySizeLimit, parse_size
from dirac_core.server.rpc import make_rpc_endpoint
from dirac_core.services.component import Component, ComponentContext

log = logging.getLogger("dirac_core.server")


def build_authenticator(config: Config) -> Authenticator:
    settings = token_settings(config)
    verifier = None
    if settings.key_file is not None or settings.public_key_file is not None:
        verifier = TokenVerifier(load_verification_key(settings), settings)
    return Authenticator(Registry(config), verifier)


def max_request_size(ctx: ComponentContext) -> int:
    raw = ctx.option("MaxRequestSize")
    return parse_size(raw, f"{ctx.section}/MaxRequestSize") if raw else DEFAULT_MAX_REQUEST_SIZE


def create_app(component: Component, ctx: ComponentContext) -> FastAPI:
    """The ASGI app of `component`. ``ctx.extras["authenticator"]`` may override the CS-built one."""
    app = FastAPI(
        title=component.name,
        version=__version__,
        description=component.description or f"dirac_core {component.name}",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    authenticator = ctx.extras.get("authenticator")
    if not isinstance(authenticator, Authenticator):
        authenticator = build_authenticator(ctx.config)
        ctx.extras["authenticator"] = authenticator
    app.state.authenticator = authenticator
    app.state.component = component
    app.state.context = ctx
    limit = max_request_size(ctx)

    if component.build_router is not None:
        guards = [Depends(current_caller)] if component.rest_requires_auth else []
        app.include_router(component.build_router(ctx), prefix=f"/api/{component.name}", dependencies=guards)
    methods = component.build_rpc(ctx) if component.build_rpc is not None else {}
    # One table for both transports: the DISET listener (dirac_core.server.diset) serves it too.
    app.state.rpc_table = RpcTable(component.name, methods)
    app.add_api_route(
        f"/{component.name}",
        make_rpc_endpoint(app.state.rpc_table, limit),
        methods=["POST"],
        summary=f"DIRAC HTTPS RPC of {component.name}",
        description="Form fields: method=<name>, args=<JEncoded JSON list>. Methods: "
        + ", ".join(sorted({"ping", "whoami", *methods})),
        include_in_schema=True,
    )

    async def health() -> JSONResponse:
        databases = {f"{s}/{d}": await run_in_threadpool(_probe, ctx, s, d) for s, d in component.databases}
        ok = all(state == "ok" for state in databases.values())
        body = {
            "component": component.name,
            "version": __version__,
            "status": "ok" if ok else "degraded",
            "databases": databases,
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    app.add_api_route("/health", health, methods=["GET"], summary="Liveness and database reachability (no auth)")
    _install_error_handlers(app)
    _document_security(app)
    app.add_middleware(InternalErrors)
    app.add_middleware(BodySizeLimit, max_bytes=limit)
    return app


def _document_security(app: FastAPI) -> None:
    """Tell OpenAPI (and the /docs "Authorize" button) that calls take a bearer token."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default_openapi()
            schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
            schemes["bearer"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _probe(ctx: ComponentContext, system: str, db_name: str) -> str:
    try:
        with ctx.engine(system, db_name).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # reported, not raised: health must always answer
        return f"error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return "ok"


def _install_error_handlers(app: FastAPI) -> None:
    async def dirac_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DiracError)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status, headers=headers)

    async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "invalid request: " + "; ".join(problems)}, status_code=422)

    handlers: dict[Any, Any] = {
        DiracError: dirac_error,
        RequestValidationError: validation_error,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
