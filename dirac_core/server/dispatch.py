"""One RPC dispatch for both transports (HTTPS form and DISET): method lookup, DIRAC delegation,
argument checks, the call, and DIRAC's "Returning response" audit line.

A transport authenticates the connection (token or verified certificate) into a `Caller`, decodes
the method name, the argument list and ``extraCredentials``, and hands them here; what is refused
before the call is refused the same way whichever transport carried it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dirac_core import __version__
from dirac_core.auth.caller import Caller, Properties
from dirac_core.auth.registry import Registry
from dirac_core.errors import BadRequest, DiracError, Forbidden
from dirac_core.services.arguments import MethodArguments
from dirac_core.services.component import RpcMethod

log = logging.getLogger("dirac_core.rpc")


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


def delegated_caller(registry: Callable[[], Registry], caller: Caller, extra_credentials: Any) -> Caller:
    """DIRAC delegation: a TrustedHost sending ``extraCredentials = [DN, group]`` acts as that user.

    ``"hosts"`` (what DIRAC hosts send for themselves), ``""`` and None keep the authenticated caller.
    """
    if extra_credentials in ("hosts", "", None):
        return caller
    value = list(extra_credentials) if isinstance(extra_credentials, tuple) else extra_credentials
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise BadRequest('extraCredentials must be "hosts" or [DN, group]')
    if not (caller.is_host and caller.has(Properties.TRUSTED_HOST)):
        raise Forbidden(f"{caller.username} lacks property TrustedHost needed to act on behalf of {value[0]}")
    return registry().caller_for_dn(value[0], value[1] or None)


@dataclass(frozen=True)
class PreparedCall:
    """A call that passed every check before running: run it with `RpcTable.run`."""

    method_name: str
    method: RpcMethod
    caller: Caller
    args: list[Any]


class RpcTable:
    """The RPC methods of one component, with their declared argument types read once."""

    def __init__(self, component_name: str, methods: Mapping[str, RpcMethod]) -> None:
        self.component_name = component_name
        self.methods = {**builtin_methods(component_name), **methods}
        self.arguments = {name: MethodArguments(name, method) for name, method in self.methods.items()}

    def lookup(self, method_name: str) -> RpcMethod:
        method = self.methods.get(method_name)
        if method is None:
            known = ", ".join(sorted(self.methods))
            raise BadRequest(f"unknown method {method_name!r} of {self.component_name}: known methods are {known}")
        return method

    def prepare(
        self,
        registry: Callable[[], Registry],
        caller: Caller,
        method_name: str,
        args: Any,
        extra_credentials: Any = None,
    ) -> PreparedCall:
        """Everything before the call; a refusal raises a `DiracError` and the method does not run.

        `registry` is read only for a delegation."""
        method = self.lookup(method_name)
        caller = delegated_caller(registry, caller, extra_credentials)
        if isinstance(args, tuple):
            args = list(args)
        if not isinstance(args, list):
            raise BadRequest(f"args of {method_name} must be a list, got {type(args).__name__}")
        return PreparedCall(method_name, method, caller, self.arguments[method_name].validate(caller, args))

    @contextmanager
    def audited(self, call: PreparedCall) -> Iterator[None]:
        """DIRAC's "Returning response" line around the call: who called what, how long, how it ended."""
        started = time.perf_counter()
        outcome = "OK"
        try:
            yield
        except DiracError as exc:
            outcome = f"ERROR {exc.message}"
            raise
        except Exception:
            outcome = "ERROR internal"
            raise
        finally:
            log.info(
                "[%s:%s] %s.%s (%.1f ms) %s",
                call.caller.group,
                call.caller.username,
                self.component_name,
                call.method_name,
                1000 * (time.perf_counter() - started),
                outcome,
            )
