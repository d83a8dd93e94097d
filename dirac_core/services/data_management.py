"""The DataManagement/FileCatalog component, and other catalogs run from the same code.

Its port and CS options (``/Systems/DataManagement/<Instance>/Services/<Catalog>/...``) are declared
in `dirac_core.contract.components`. ``Module`` runs the catalog code under another name, e.g.
``Services/EiscatFileCatalog { Module = FileCatalog; Database = EiscatFileCatalogDB }`` then
``dirac-core serve DataManagement/EiscatFileCatalog`` (see `dirac_core.server.modules`).
``OperationRecorder`` is a ``module:factory`` called with the ComponentContext, returning the
`dirac_core.catalog.hooks.OperationRecorder` (e.g. accounting DataOperation records).

Storage elements are those of ``/Resources/StorageElements``; when that section is empty any SE name
is accepted. Catalogs are listed for clients under ``/Resources/FileCatalogs/<Catalog>``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter

from dirac_core.catalog.catalog import FileCatalog
from dirac_core.catalog.hooks import OperationRecorder
from dirac_core.catalog.permissions import config_umask
from dirac_core.catalog.query import QueryLimits
from dirac_core.contract.components import component_spec
from dirac_core.db.installed import DatabaseSpec, get_database
from dirac_core.services.component import ComponentContext, RpcMethod, declared_component
from dirac_core.services.input_limits import limit_of
from dirac_core.services.instance_databases import copy_spec

SYSTEM = "DataManagement"
SERVICE = "FileCatalog"
OPTION = component_spec(f"{SYSTEM}/{SERVICE}").option
DEFAULT_DB = str(OPTION("Database").default)
FILE_CATALOG = f"{SYSTEM}/{SERVICE}"  # catalogs of any name (Module = FileCatalog) share its limits

log = logging.getLogger("dirac_core.catalog")


def catalog_spec(db_name: str) -> DatabaseSpec:
    """The FileCatalogDB schema under another DBName (a second catalog's own database)."""
    return copy_spec(get_database(DEFAULT_DB), db_name)


def _recorder(ctx: ComponentContext) -> OperationRecorder | None:
    found = ctx.extras.get("catalog_recorder")
    ref = ctx.declared(OPTION("OperationRecorder"))
    if found is None and ref:
        from dirac_core.plugins import import_object

        found = import_object(ref)(ctx)
    return found


def make_file_catalog(ctx: ComponentContext) -> FileCatalog:
    db_name = ctx.declared(OPTION("Database")) or DEFAULT_DB
    engine = ctx.engine(SYSTEM, db_name)
    if db_name != DEFAULT_DB:
        # `dirac-core db init EiscatFileCatalogDB` manages it (dirac_core.services.instance_databases); creating or
        # upgrading it here too keeps a catalog started without that step working, as before.
        from dirac_core.db import schema

        schema.init(catalog_spec(db_name), engine)
    known_ses = ctx.config.sections("/Resources/StorageElements") or None
    if known_ses is None:
        log.warning("%s: /Resources/StorageElements is empty: any SE name is accepted", ctx.component)
    global_read = ctx.bool_option(OPTION("GlobalReadAccess"))
    return FileCatalog(
        engine,
        name=ctx.component.partition("/")[2],
        known_ses=known_ses,
        max_bulk=ctx.int_option(OPTION("MaxBulkSize")),
        umask=config_umask(ctx.config, ctx.section),
        recorder=_recorder(ctx),
        global_read=global_read,
        query_limits=QueryLimits(
            max_nesting=limit_of(ctx, "MaxQueryNesting", FILE_CATALOG),
            max_conditions=limit_of(ctx, "MaxQueryConditions", FILE_CATALOG),
        ),
    )


def _catalog(ctx: ComponentContext) -> FileCatalog:
    # build_router and build_rpc share one catalog (and its caches) per component.
    if "FileCatalog" not in ctx.extras:
        ctx.extras["FileCatalog"] = make_file_catalog(ctx)
    return ctx.extras["FileCatalog"]  # type: ignore[no-any-return]


def build_router(ctx: ComponentContext) -> APIRouter:
    from dirac_core.services.fc_rest import file_catalog_router

    return file_catalog_router(_catalog(ctx))


def build_rpc(ctx: ComponentContext) -> dict[str, RpcMethod]:
    from dirac_core.services.fc_rpc import file_catalog_rpc

    return file_catalog_rpc(_catalog(ctx))


def components() -> list[Any]:
    return [declared_component(f"{SYSTEM}/{SERVICE}", build_router, build_rpc)]
