"""Databases the CS names beyond the registered ones: a component instance's own copy of a schema.

``Services/EiscatFileCatalog { Module = FileCatalog; Database = EiscatFileCatalogDB }`` runs the
FileCatalog code on a database called EiscatFileCatalogDB (see `dirac_core.server.modules`). That DB
has the FileCatalogDB schema, migrations and hooks, under its own name, CS section
(``.../Databases/EiscatFileCatalogDB``) and Alembic version table (``alembic_version_eiscatfilecatalogdb``),
so ``dirac-core db init|status|upgrade EiscatFileCatalogDB`` manage it like any registered DB.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from dirac_core.config.paths import system_section
from dirac_core.db.installed import DatabaseSpec, all_databases
from dirac_core.errors import ConfigError

if TYPE_CHECKING:
    from dirac_core.config.cfg import Config
    from dirac_core.services.component import Component


def copy_spec(base: DatabaseSpec, name: str) -> DatabaseSpec:
    """`base`'s schema, revisions and hook under DBName `name` (its own version table)."""
    if name == base.name:
        return base
    return dataclasses.replace(base, name=name, migrations=base.migrations_dir)


def instance_databases(config: Config, components: dict[str, Component] | None = None) -> dict[str, DatabaseSpec]:
    """DBName -> spec for every ``Database`` option of a service section naming an unregistered DB.

    The service's code is its ``Module`` (else its own name) in the same System; it must be a
    component with exactly one database, whose registered spec is copied.
    """
    if components is None:
        from dirac_core.services.installed import all_components

        components = all_components()
    registered = all_databases()
    found: dict[str, DatabaseSpec] = {}
    for system in config.sections("/Systems"):
        try:
            services = f"{system_section(config, system)}/Services"
        except ConfigError:  # a System this setup does not run
            continue
        for service in config.sections(services):
            database = config.get(f"{services}/{service}/Database", None)
            if not database or database in registered:
                continue
            module = config.get(f"{services}/{service}/Module", None) or service
            base = components.get(module if "/" in module else f"{system}/{module}")
            if base is None or len(base.databases) != 1:
                continue
            base_spec = registered.get(base.databases[0][1])
            if base_spec is not None:
                found[database] = copy_spec(base_spec, database)
    return found


def known_databases(config: Config) -> dict[str, DatabaseSpec]:
    """Registered DBs plus the instance copies the CS configures."""
    return {**all_databases(), **instance_databases(config)}
