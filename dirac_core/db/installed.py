"""Every DIRAC database dirac_core manages, by DIRAC's DBName: the ``dirac_core.databases`` entry points.

To add a database: write ``dirac_core/db/<dbname>.py`` with its tables (a ``metadata``) and a
``DATABASE = DatabaseSpec(...)`` line, put its Alembic revisions in
``dirac_core/db/migrations/<DBName>/versions/`` and name ``DATABASE`` under
``[project.entry-points."dirac_core.databases"]`` in pyproject.toml (see docs/databases.md).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from dirac_core.errors import ConfigError, NotFound
from dirac_core.plugins import DATABASES_GROUP, load_group

if TYPE_CHECKING:
    from sqlalchemy import Engine, MetaData

    from dirac_core.config.cfg import Config

MIGRATIONS_ROOT = Path(__file__).resolve().parent / "migrations"

# Called after init/upgrade with the merged configuration, the DB section path and the engine.
PostUpgradeHook = Callable[["Config", str, "Engine"], None]


@dataclass(frozen=True)
class DatabaseSpec:
    name: str  # DIRAC's DBName: JobDB, FileCatalogDB, AccountingDB, ...
    system: str  # DIRAC System whose Databases section configures it
    module: str  # dotted module path holding the SQLAlchemy `metadata` of the head schema
    migrations: Path | None = None  # default: dirac_core/db/migrations/<name>
    post_upgrade: str | None = None  # optional "module:function" (a PostUpgradeHook)

    @property
    def migrations_dir(self) -> Path:
        return self.migrations or MIGRATIONS_ROOT / self.name

    @property
    def version_table(self) -> str:
        # One Alembic version table per DB, so two DBs may even share a MariaDB schema without clashing.
        return f"alembic_version_{self.name.lower()}"

    def load_metadata(self) -> MetaData:
        return cast("MetaData", importlib.import_module(self.module).metadata)

    def load_post_upgrade(self) -> PostUpgradeHook | None:
        if not self.post_upgrade:
            return None
        module, _, func = self.post_upgrade.partition(":")
        return cast(PostUpgradeHook, getattr(importlib.import_module(module), func))


def all_databases() -> dict[str, DatabaseSpec]:
    specs: dict[str, DatabaseSpec] = {}
    for name, spec in load_group(DATABASES_GROUP).items():
        if not isinstance(spec, DatabaseSpec) or spec.name != name:
            raise ConfigError(
                f"entry point {name} of {DATABASES_GROUP} is {spec!r}: point it at the DatabaseSpec of {name}"
            )
        specs[name] = spec
    return specs


def get_database(name: str) -> DatabaseSpec:
    specs = all_databases()
    if name not in specs:
        raise NotFound(f"unknown database {name!r}: known databases are {', '.join(sorted(specs))}")
    return specs[name]


__all__ = ["DatabaseSpec", "PostUpgradeHook", "all_databases", "get_database"]
