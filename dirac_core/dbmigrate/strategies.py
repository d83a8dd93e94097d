"""The non-copy strategies and the per-database steps around a copy.

* reset: recreate the database empty from dirac_core's schema (`dirac-core db init` machinery), and
  with ``keep_ids_above_source`` start every AUTO_INCREMENT id above the old database's maximum, so
  kept sandboxes and accounting records never meet a reused JobID.
* setup rename: AccountingDB tables ``ac_<kind>_<Setup>_<Type>`` move to the new Setup name, and the
  type catalogue rows (``ac_catalog_types.name = <Setup>_<Type>``) follow.
* upgrade: after a verified copy, the DB's Alembic revisions (`dirac-core db upgrade`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, Integer

from dirac_core.db.engine import make_engine
from dirac_core.dbmigrate.connect import connect, database_exists, query, quote, recreate_database, sqlalchemy_url, text
from dirac_core.dbmigrate.plan import DatabasePlan, Plan, SetupRename, schema_spec_name

ACCOUNTING_DB = "AccountingDB"
_AC_TABLE = re.compile(r"^(ac_[a-z]+_)(.+)$")


# -------------------------------------------------------------------------------------------------- reset
def reset_database(plan: Plan, db: DatabasePlan) -> dict[str, Any]:
    """Drop (preflight made sure that is allowed) and recreate `db` empty at the head schema."""
    from dirac_core.db import schema
    from dirac_core.db.installed import get_database

    spec = get_database(schema_spec_name(db) or db.name)  # fg_AccountingDB -> AccountingDB
    recreate_database(plan.target, db.target_name, "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    engine = make_engine(sqlalchemy_url(plan.target, db.target_name), pool_size=1)
    try:
        result = schema.init(spec, engine)
        floors = apply_id_floors(plan, db, engine) if db.keep_ids_above_source else {}
    finally:
        engine.dispose()
    return {"schema": result.head, "id_floors": floors}


def apply_id_floors(plan: Plan, db: DatabasePlan, engine: Engine) -> dict[str, int]:
    """Next AUTO_INCREMENT of each table above the source's max id (and its own counter)."""
    from dirac_core.db.installed import get_database

    source_db = db.source_name or db.name
    src = connect(plan.source)
    floors: dict[str, int] = {}
    try:
        if not database_exists(src, source_db):
            return floors
        for table in get_database(db.name).load_metadata().sorted_tables:
            auto = [
                c
                for c in table.columns
                if c.primary_key and isinstance(c.type, Integer) and c.autoincrement is not False
            ]
            if len(auto) != 1 or len(table.primary_key.columns) != 1:
                continue
            floor = source_floor(src, source_db, table.name, auto[0].name)
            if db.name == "JobDB" and table.name == "JobJDLs":
                floor = max(floor, source_floor(src, source_db, "Jobs", "JobID"))
            if floor > 1:
                floors[table.name] = floor
    finally:
        src.close()
    if db.name == "JobDB" and "JobJDLs" in floors:
        from dirac_core.db.jobdb import JobDB

        JobDB(engine).ensure_min_job_id(floors["JobJDLs"])  # the hook `db init` applies for MinJobID
    with engine.begin() as conn:
        for table_name, floor in floors.items():
            if not (db.name == "JobDB" and table_name == "JobJDLs"):
                conn.exec_driver_sql(f"ALTER TABLE {quote(table_name)} AUTO_INCREMENT = {int(floor)}")
    return floors


def source_floor(conn: Any, db: str, table: str, column: str) -> int:
    """max(MAX(column) + 1, the table's AUTO_INCREMENT) on the source; 0 when the table is absent."""
    exists = query(
        conn,
        "SELECT IFNULL(AUTO_INCREMENT, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (db, table),
    )
    if not exists:
        return 0
    has_col = query(
        conn,
        "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND COLUMN_NAME = %s",
        (db, table, column),
    )
    top = query(conn, f"SELECT IFNULL(MAX({quote(column)}), 0) FROM {quote(db)}.{quote(table)}")[0][0] if has_col else 0
    return max(int(text(top) or 0) + 1, int(exists[0][0] or 0))


# ------------------------------------------------------------------------------------------ setup rename
def setup_renames(rename: SetupRename | None, db: str, tables: list[str]) -> dict[str, str]:
    """AccountingDB table renames ``ac_<kind>_<Old>_<Type>`` -> ``ac_<kind>_<New>_<Type>``."""
    if rename is None or db != ACCOUNTING_DB:
        return {}
    out: dict[str, str] = {}
    for name in tables:
        m = _AC_TABLE.match(name)
        if m and m.group(2).startswith(f"{rename.old}_"):
            out[name] = f"{m.group(1)}{rename.new}_{m.group(2)[len(rename.old) + 1 :]}"
    return out


def rename_catalog_rows(plan: Plan, db: DatabasePlan) -> int:
    """``ac_catalog_types.name`` <Old>_<Type> -> <New>_<Type>; returns the number of rows changed."""
    rename = plan.setup_rename
    if rename is None or db.name != ACCOUNTING_DB:
        return 0
    conn = connect(plan.target)
    try:
        has = query(
            conn,
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'ac_catalog_types' "
            "AND COLUMN_NAME = 'name'",
            (db.target_name,),
        )
        if not has:
            return 0
        cur = conn.cursor()
        cur.execute(
            f"UPDATE {quote(db.target_name)}.ac_catalog_types SET name = CONCAT(%s, SUBSTRING(name, %s)) "
            "WHERE LEFT(name, %s) = %s",
            (rename.new + "_", len(rename.old) + 2, len(rename.old) + 1, rename.old + "_"),
        )
        return int(cur.rowcount)
    finally:
        conn.close()


# ------------------------------------------------------------------------------------------------ upgrade
def upgrade_database(plan: Plan, db: DatabasePlan) -> dict[str, Any]:
    """Bring a copied DIRAC DB to dirac_core's head schema (adopts a never-versioned DB, drops nothing)."""
    from dirac_core.db import schema
    from dirac_core.db.installed import get_database

    spec = get_database(schema_spec_name(db) or db.name)  # fg_AccountingDB -> AccountingDB
    engine = make_engine(sqlalchemy_url(plan.target, db.target_name), pool_size=1)
    try:
        result = schema.init(spec, engine)
    finally:
        engine.dispose()
    return {"action": result.action, "applied": result.applied, "head": result.head}


__all__ = [
    "apply_id_floors",
    "rename_catalog_rows",
    "reset_database",
    "setup_renames",
    "source_floor",
    "upgrade_database",
]
