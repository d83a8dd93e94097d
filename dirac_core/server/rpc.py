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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from dirac_core import jencode
from dirac_core.auth.dependencies import authenticator_of, current_caller
from dirac_core.errors import BadRequest, DiracError, Forbidden, Unauthorized
from dirac_core.server.dispatch import RpcTable
from dirac_core.server.limits import BodyTooLarge

log = logging.getLogger("dirac_core.rpc")

_PRE_CALL_STATUS_KEEP = (Unauthorized, Forbidden)


def rpc_reply(payload: Mapping[str, Any], status: int = 200) -> Response:
    return Response(jencode.encode(dict(payload)), status_code=status, media_type="application/json")


def error_reply(exc: DiracError, status: int | None = None) -> Response:
    body = {"OK": False, "Message": exc.message, "ErrorType": type(exc).__name__}
    return rpc_reply(body, exc.http_status if status is None else status)


def extra_credentials_of(form_value: Any) -> Any:
    """The HTTPS form carries ``extraCredentials`` JEncoded; DISET carries it decoded."""
    if not isinstance(form_value, str) or not form_value:
        return None
    return jencode.decode(form_value)


def make_rpc_endpoint(table: RpcTable, max_field_size: int) -> Callable[[Request], Any]:
    component_name = table.component_name

    async def rpc_endpoint(request: Request) -> Response:
        method_name = "?"
        try:
            caller = await current_caller(request)
            form = await request.form(max_part_size=max_field_size)
            raw_method = form.get("method")
            if not isinstance(raw_method, str) or not raw_method:
                raise BadRequest("form field 'method' is missing: post method=<name>&args=<JSON list>")
            method_name = raw_method
            table.lookup(method_name)
            raw_args = form.get("args", "[]")
            if not isinstance(raw_args, str):
                raise BadRequest("form field 'args' must be a JEncoded JSON list, not a file")
            extra_credentials = extra_credentials_of(form.get("extraCredentials"))
            args = jencode.decode(raw_args)
            if not isinstance(args, list):
                raise BadRequest(f"args of {method_name} must be a JSON list, got {type(args).__name__}")
            registry = lambda: authenticator_of(request).registry  # noqa: E731 - read only to delegate
            call = table.prepare(registry, caller, method_name, args, extra_credentials)
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
        try:
            with table.audited(call):
                value = await run_in_threadpool(call.method, call.caller, *call.args)
            if raw_content and isinstance(value, bytes | bytearray):
                return Response(bytes(value), media_type="application/octet-stream")
            if raw_content and isinstance(value, Iterator):
                return StreamingResponse(value, media_type="application/octet-stream")
            return rpc_reply({"OK": True, "Value": value})
        except _PRE_CALL_STATUS_KEEP as exc:
            return error_reply(exc)
        except DiracError as exc:
            return error_reply(exc, status=200)
        except Exception:
            log.exception("RPC %s.%s failed", component_name, method_name)
            message = f"internal error in {component_name}.{method_name}: see the service log"
            return rpc_reply({"OK": False, "Message": message, "ErrorType": "DiracError"}, 500)

    return rpc_endpoint
