"""Build a component's REST router and RPC table around ONE logic object per process.

`Component.build_router` and `build_rpc` are called separately by the runtime; both adapters must
share the same logic instance (and its DB engines), so it is kept in ``ctx.extras`` under ``key``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import APIRouter

    from dirac_core.services.component import ComponentContext, RpcMethod


def shared_logic(ctx: ComponentContext, key: str, make: Callable[[ComponentContext], Any]) -> Any:
    if key not in ctx.extras:
        ctx.extras[key] = make(ctx)
    return ctx.extras[key]


def router_from(key: str, make: Any, build: Any) -> Callable[[ComponentContext], APIRouter]:
    def build_router(ctx: ComponentContext) -> APIRouter:
        return build(shared_logic(ctx, key, make))  # type: ignore[no-any-return]

    return build_router


def rpc_from(key: str, make: Any, build: Any) -> Callable[[ComponentContext], dict[str, RpcMethod]]:
    def build_rpc(ctx: ComponentContext) -> dict[str, RpcMethod]:
        return build(shared_logic(ctx, key, make))  # type: ignore[no-any-return]

    return build_rpc
