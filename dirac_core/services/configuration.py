"""Configuration/Server: DIRAC's CS, served from the layered CFG, with master/slave.

Its port and options (``/Systems/Configuration/<Instance>/Services/Server``: ``DataDir``, ``Layers``,
``PollInterval``, ``BackupDir``) are declared in `dirac_core.contract.components`. The role comes from
the host-local ``/DIRAC/Configuration/Master = yes|no``; a slave reads from
``/DIRAC/Configuration/MasterServer`` (else the first of ``/DIRAC/Configuration/Servers``).

Runtime hooks (``ctx.extras``): ``http_client_factory(url) -> httpx.Client`` for the TLS client a
slave uses to reach its master; the server object is left in ``ctx.extras["configuration_server"]``.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel

from dirac_core.auth.caller import Caller
from dirac_core.auth.dependencies import current_caller
from dirac_core.client.cs import ConfigurationClient
from dirac_core.config.layers import layer_set
from dirac_core.contract.components import component_spec
from dirac_core.cs.server import ConfigurationServer, ServerSettings
from dirac_core.errors import BadRequest, ConfigError
from dirac_core.services.component import ComponentContext, RpcMethod, declared_component

NAME = "Configuration/Server"
OPTION = component_spec(NAME).option
DEFAULT_DATA_DIR = str(OPTION("DataDir").default)


def settings_from_context(ctx: ComponentContext) -> ServerSettings:
    config = ctx.config
    master = config.get_bool("/DIRAC/Configuration/Master", False)
    poll = float(ctx.declared(OPTION("PollInterval")) or config.get_int("/DIRAC/Configuration/RefreshTime", 300))
    data_dir = Path(ctx.declared(OPTION("DataDir")) or DEFAULT_DATA_DIR)
    specs = [s.strip() for s in (ctx.declared(OPTION("Layers")) or "").split(",") if s.strip()] or config.sources
    layers = [layer for layer in layer_set(specs) if layer.scope == "global"] if master else []
    servers = config.get_list("/DIRAC/Configuration/Servers")
    master_url = config.get("/DIRAC/Configuration/MasterServer", None) or (servers[0] if servers else None)
    backup = ctx.declared(OPTION("BackupDir"))
    return ServerSettings(master, data_dir, Path(backup) if backup else None, poll, layers, master_url)


def configuration_server(ctx: ComponentContext) -> ConfigurationServer:
    """One server object per context, shared by the REST router and the RPC table."""
    existing = ctx.extras.get("configuration_server")
    if isinstance(existing, ConfigurationServer):
        return existing
    settings = settings_from_context(ctx)
    link = None
    if not settings.master:
        if not settings.master_url:
            raise ConfigError(
                "Configuration/Server slave has no master: set /DIRAC/Configuration/MasterServer = "
                f"https://<master>:{component_spec(NAME).port}/{NAME}"
            )
        factory = ctx.extras.get("http_client_factory")
        link = ConfigurationClient(settings.master_url, factory(settings.master_url) if factory else None)
    server = ConfigurationServer(settings, link)
    server.start_up()
    ctx.extras["configuration_server"] = server
    return server


class CommitBody(BaseModel):
    data: str


class RollbackBody(BaseModel):
    version: str


def build_router(ctx: ComponentContext) -> APIRouter:
    server = configuration_server(ctx)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        server.start()  # the master watches its layer files, a slave polls its master
        try:
            yield
        finally:
            server.stop()

    router = APIRouter(tags=["Configuration"], lifespan=lifespan)

    @router.get("/version")
    def version(caller: Caller = Depends(current_caller)) -> dict[str, Any]:
        current = server.snapshot()
        return {"version": current.version, "hash": current.hash, "name": current.name, "master": server.is_master}

    @router.get("/data")
    def data(if_newer: str | None = None, caller: Caller = Depends(current_caller)) -> dict[str, Any]:
        return server.get_data_if_newer(if_newer)

    @router.get("/status")
    def status(caller: Caller = Depends(current_caller)) -> dict[str, Any]:
        return server.status()

    @router.post("/commit")
    def commit(body: CommitBody, caller: Caller = Depends(current_caller)) -> dict[str, str]:
        return {"version": server.commit(body.data, caller)}

    @router.get("/history")
    def history(limit: int = 100, caller: Caller = Depends(current_caller)) -> list[dict[str, Any]]:
        return [{"version": c.version, "committer": c.committer, "previous": c.previous} for c in server.history(limit)]

    @router.get("/contents")
    def contents(version: str, caller: Caller = Depends(current_caller)) -> dict[str, str]:
        return {"version": version, "data": server.version_contents(version)}

    @router.post("/rollback")
    def rollback(body: RollbackBody, caller: Caller = Depends(current_caller)) -> dict[str, str]:
        return {"version": server.rollback(body.version, caller)}

    return router


def _decompress(data: str) -> str:
    try:
        return zlib.decompress(base64.b64decode(data)).decode("utf-8")
    except (ValueError, zlib.error) as exc:
        raise BadRequest("commitNewData expects base64 of the zlib-compressed CFG, as DIRAC clients send") from exc


def build_rpc(ctx: ComponentContext) -> dict[str, RpcMethod]:
    """DIRAC's ConfigurationHandler methods; compressed data travels as base64 (Tornado's form)."""
    server = configuration_server(ctx)

    def get_version(caller: Caller) -> str:
        return server.get_version()

    def get_compressed_data(caller: Caller) -> str:
        return server.snapshot().compressed_b64()

    def get_compressed_data_if_newer(caller: Caller, client_version: str) -> dict[str, str]:
        current = server.snapshot()
        reply = {"newestVersion": current.version}
        if client_version < current.version:
            reply["data"] = current.compressed_b64()
        return reply

    def commit_new_data(caller: Caller, data: str) -> str:
        return server.commit(_decompress(data), caller)

    def write_enabled(caller: Caller) -> bool:
        return server.is_master

    def get_commit_history(caller: Caller, limit: int = 100) -> list[list[str]]:
        return [[c.committer, c.version] for c in server.history(limit)]

    def get_version_contents(caller: Caller, versions: list[str]) -> list[str]:
        return [
            base64.b64encode(zlib.compress(server.version_contents(v).encode("utf-8"), 9)).decode("ascii")
            for v in versions
        ]

    def rollback_to_version(caller: Caller, version: str) -> str:
        return server.rollback(version, caller)

    return {
        "getVersion": get_version,
        "getCompressedData": get_compressed_data,
        "getCompressedDataIfNewer": get_compressed_data_if_newer,
        "commitNewData": commit_new_data,
        "writeEnabled": write_enabled,
        "getCommitHistory": get_commit_history,
        "getVersionContents": get_version_contents,
        "rollbackToVersion": rollback_to_version,
    }


COMPONENT = declared_component(NAME, build_router, build_rpc)
