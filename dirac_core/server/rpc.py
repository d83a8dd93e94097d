"""DIRAC HTTPS RPC: ``POST /<System>/<Service>`` with form fields ``method`` and ``args``.

What DIRAC's TornadoClient sends: ``method=<name>&args=<JEncoded list>`` (plus ``clientVO`` and
``clientSetup``, accepted and ignored, and ``extraCredentials``), credentials as a client
certificate or ``Authorization: Bearer``. The form may be urlencoded (what TornadoClient sends)
or ``multipart/form-data`` with plain (filename-less) fields, which our client uses for args above
64 KiB: parsing a multipart part costs milliseconds where unquoting 2 MB of urlencoded JSON costs
a fraction of a second. Either way the body counts against MaxRequestSize. A TrustedHost may act for a user with
``extraCredentials = [DN, group]`` (DIRAC's delegation). Replies are JEncoded S_OK/S_ERROR structures:

* ``{"OK": true, "Value": ...}`` with HTTP 200;
* a `DiracError` raised by the method -> ``{"OK": false, "Message": ..., "ErrorType": ...}`` with
  HTTP 200, as DIRAC's S_ERROR (``ErrorType`` lets our client re-raise the same class), except
  `Unauthorized`/`Forbidden`, which keep 401/403 like DIRAC's authorization failures;
* problems found before the call (no/invalid credentials, unknown method, undecodable ``args``,
  arguments that fail `dirac_core.services.arguments` (declared types, ranges, depth), body too
  large) -> 4xx with the same structure naming the argument; the method is not called;
* an unexpected exception -> 500, the traceback goes to the server log only;
* ``rawContent=True`` (DIRAC's ``TornadoClient.receiveFile``, method ``streamToClient``): a method
  returning bytes or an iterator of bytes is sent raw as ``application/octet-stream`` (streamed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from dirac_core import __version__, jencode
from dirac_core.auth.caller import Caller, Properties
from dirac_core.auth.dependencies import authenticator_of, current_caller
from dirac_core.errors import BadRequest, DiracError, Forbidden, Unauthorized
from dirac_core.server.limits import BodyTooLarge
from dirac_core.services.arguments import MethodArguments
from dirac_core.services.component import RpcMethod

log = logging.getLogger("dirac_core.rpc")

_PRE_CALL_STATUS_KEEP = (Unauthorized, Forbidden)


def rpc_reply(payload: Mapping[str, Any], status: int = 200) -> Response:
    return Response(jencode.encode(dict(payload)), status_code=status, media_type="application/json")


def error_reply(exc: DiracError, status: int | None = None) -> Response:
    body = {"OK": False, "Message": exc.message, "ErrorType": type(exc).__name__}
    return rpc_reply(body, exc.http_status if status is None else status)


def builtin_methods(component_name: str) -> dict[str, RpcMethod]:
    """Every DIRAC service answers ``ping`` and ``whoami``."""

    def ping(_caller: Caller) -> dict[str, Any]:
        return {"name": component_name, "version": __version__, "time": time.time()}

    def whoami(caller: Caller) -> dict[str, Any]:
        return {
            "username": caller.username,
            "group": caller.group,
            "vo": caller.vo,
            "properties": sorted(caller.properties),
            "isHost": caller.is_host,
            "sub": caller.sub,
        }

    return {"ping": ping, "whoami": whoami}


def delegated_caller(request: Request, caller: Caller, extra_credentials: Any) -> Caller:
    """DIRAC delegation: a TrustedHost sending ``extraCredentials = [DN, group]`` acts as that user.

    ``"hosts"`` (what DIRAC hosts send for themselves) and absence keep the authenticated caller.
    """
    if not isinstance(extra_credentials, str) or not extra_credentials:
        return caller
    value = jencode.decode(extra_credentials)
    if value == "hosts" or value is None:
        return caller
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise BadRequest('extraCredentials must be "hosts" or [DN, group] (JEncoded)')
    if not (caller.is_host and caller.has(Properties.TRUSTED_HOST)):
        raise Forbidden(f"{caller.username} lacks property TrustedHost needed to act on behalf of {value[0]}")
    return authenticator_of(request).registry.caller_for_dn(value[0], value[1] or None)


def make_rpc_endpoint(
    component_name: str, methods: Mapping[str, RpcMethod], max_field_size: int
) -> Callable[[Request], Any]:
    table = {**builtin_methods(component_name), **methods}
    # Declared argument types of every method, read once: each call is checked before it runs.
    arguments = {name: MethodArguments(name, method) for name, method in table.items()}

    async def rpc_endpoint(request: Request) -> Response:
        method_name = "?"
        try:
            caller = await current_caller(request)
            form = await request.form(max_part_size=max_field_size)
            raw_method = form.get("method")
            if not isinstance(raw_method, str) or not raw_method:
                raise BadRequest("form field 'method' is missing: post method=<name>&args=<JSON list>")
            method_name = raw_method
            method = table.get(method_name)
            if method is None:
                known = ", ".join(sorted(table))
                raise BadRequest(f"unknown method {method_name!r} of {component_name}: known methods are {known}")
            raw_args = form.get("args", "[]")
            if not isinstance(raw_args, str):
                raise BadRequest("form field 'args' must be a JEncoded JSON list, not a file")
            caller = delegated_caller(request, caller, form.get("extraCredentials"))
            args = jencode.decode(raw_args)
            if not isinstance(args, list):
                raise BadRequest(f"args of {method_name} must be a JSON list, got {type(args).__name__}")
            args = arguments[method_name].validate(caller, args)
            raw_content = str(form.get("rawContent", "")).lower() in {"true", "1", "yes"}
        except DiracError as exc:
            client = request.client.host if request.client else "?"
            log.info("[%s] %s.%s refused before the call: %s", client, component_name, method_name, exc.message)
            return error_reply(exc)
        except BodyTooLarge as exc:
            return error_reply(exc.as_dirac_error())
        except Exception as exc:  # form parser errors (multipart limits, bad encoding)
            detail = getattr(exc, "detail", None) or str(exc)
            return error_reply(BadRequest(f"cannot read the RPC form: {detail}"))
        started = time.perf_counter()
        outcome = "OK"
        try:
            value = await run_in_threadpool(method, caller, *args)
            if raw_content and isinstance(value, bytes | bytearray):
                return Response(bytes(value), media_type="application/octet-stream")
            if raw_content and isinstance(value, Iterator):
                return StreamingResponse(value, media_type="application/octet-stream")
            return rpc_reply({"OK": True, "Value": value})
        except _PRE_CALL_STATUS_KEEP as exc:
            outcome = f"ERROR {exc.message}"
            return error_reply(exc)
        except DiracError as exc:
            outcome = f"ERROR {exc.message}"
            return error_reply(exc, status=200)
        except Exception:
            outcome = "ERROR internal"
            log.exception("RPC %s.%s failed", component_name, method_name)
            message = f"internal error in {component_name}.{method_name}: see the service log"
            return rpc_reply({"OK": False, "Message": message, "ErrorType": "DiracError"}, 500)
        finally:
            # DIRAC's "Returning response" line: who called what, how long, how it ended.
            log.info(
                "[%s:%s] %s.%s (%.1f ms) %s",
                caller.group,
                caller.username,
                component_name,
                method_name,
                1000 * (time.perf_counter() - started),
                outcome,
            )

    return rpc_endpoint
