"""The contract between the service runtime and the code of each DIRAC component.

A component (``WorkloadManagement/JobManager``) is declared once with a `Component`. The runtime
builds the FastAPI app: it mounts the REST router at ``/api/<System>/<Service>`` and answers DIRAC's
HTTPS RPC protocol at ``POST /<System>/<Service>`` by calling the matching `rpc_methods` entry.
Business logic lives in plain classes built from the `ComponentContext`; routers and RPC methods
are thin adapters over them (the diracx layering: routers / logic / DB).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dirac_core.contract.components import component_spec
from dirac_core.contract.options import OptionSpec
from dirac_core.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import APIRouter
    from sqlalchemy import Engine

    from dirac_core.auth.caller import Caller
    from dirac_core.config.cfg import Config

# An RPC method receives the authenticated caller and the positional args decoded from DIRAC's
# `args` form field; it returns a JSON-able value or raises a DiracError.
RpcMethod = Callable[..., Any]


@dataclass
class ComponentContext:
    """What a component gets at start-up: its configuration and database engines."""

    config: Config
    component: str
    section: str  # /Systems/<System>/<Instance>/Services/<Name>
    engine_factory: Callable[[str, str], Engine]
    extras: dict[str, Any] = field(default_factory=dict)

    def engine(self, system: str, db_name: str) -> Engine:
        return self.engine_factory(system, db_name)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.config.get(f"{self.section}/{name}", default)

    # Declared options (dirac_core.contract): the default and the kind come from the declaration.
    def declared(self, option: OptionSpec) -> str | None:
        return self.option(option.name, option.default)

    def int_option(self, option: OptionSpec) -> int:
        raw = self.declared(option)
        try:
            return int(raw or str(option.default))
        except ValueError:
            raise ConfigError(f"{self.section}/{option.name} = {raw!r} is not an integer") from None

    def number_option(self, option: OptionSpec, default: float | None = None) -> float:
        """`default` stands for a default computed at start (declared as None)."""
        fallback = option.default if default is None else str(default)
        raw = self.option(option.name, fallback)
        try:
            return float(raw or str(fallback))
        except ValueError:
            raise ConfigError(f"{self.section}/{option.name} = {raw!r} is not a number") from None

    def bool_option(self, option: OptionSpec) -> bool:
        return (self.declared(option) or str(option.default)).lower() in {"yes", "true", "1", "on"}


@dataclass(frozen=True)
class Component:
    name: str  # "WorkloadManagement/JobManager"
    default_port: int
    databases: tuple[tuple[str, str], ...] = ()  # (System, DBName) pairs it needs
    build_router: Callable[[ComponentContext], APIRouter] | None = None
    build_rpc: Callable[[ComponentContext], dict[str, RpcMethod]] | None = None
    description: str = ""
    # REST routes need an authenticated caller unless False (token endpoints): safe by default.
    rest_requires_auth: bool = True

    @property
    def system(self) -> str:
        return self.name.partition("/")[0]

    @property
    def service(self) -> str:
        return self.name.partition("/")[2]


def declared_component(
    name: str,
    build_router: Callable[[ComponentContext], APIRouter] | None = None,
    build_rpc: Callable[[ComponentContext], dict[str, RpcMethod]] | None = None,
    *,
    rest_requires_auth: bool = True,
) -> Component:
    """The runtime `Component` of `name`: port, databases and description from its declaration."""
    spec = component_spec(name)
    return Component(
        spec.name,
        spec.port,
        spec.database_pairs,
        build_router,
        build_rpc,
        spec.description,
        rest_requires_auth,
    )


__all__ = ["Caller", "Component", "ComponentContext", "RpcMethod", "declared_component"]
