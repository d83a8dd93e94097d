"""The repopulate strategy: a new catalog DB filled from a subtree of another catalog or a listing.

The target gets dirac_core's FileCatalogDB schema; the rows come either from the files under one
directory of a source catalog, or from a storage listing (CSV: LFN,size,checksum,SE).
"""

from __future__ import annotations

from typing import Any

from dirac_core.dbmigrate.connect import query
from dirac_core.dbmigrate.plan import PlanError

# (table, column holding the full directory path), in the order they are looked for.
_DIRECTORY_TABLES = (("FC_DirectoryList", "Name"), ("FC_DirectoryLevelTree", "DirName"), ("Directories", "Path"))


def directory_table(conn: Any, db: str) -> tuple[str, str]:
    """The table and column of `db` holding full directory paths (DIRAC's or dirac_core's catalog)."""
    for table, column in _DIRECTORY_TABLES:
        if query(
            conn,
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_NAME = %s",
            (db, table, column),
        ):
            return table, column
    names = ", ".join(f"{t}.{c}" for t, c in _DIRECTORY_TABLES)
    raise PlanError(f"{db} is not a file catalog (none of {names} exists): fix from.database")


__all__ = ["directory_table"]
