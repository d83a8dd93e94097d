"""Verification: per-chunk row count + checksum on the target, and a schema-object comparison.

The source side of each chunk was computed inside the dump snapshot (see `chunks`); here the target
side is computed with the same SQL after the load. Schema objects are compared through
information_schema (columns, indexes, foreign keys, routines, triggers, views, events), never through
CHECKSUM TABLE or SHOW CREATE text, so two server versions can be compared.
"""

from __future__ import annotations

from typing import Any

from dirac_core.dbmigrate.chunks import Chunk, checksum_sql
from dirac_core.dbmigrate.connect import query, quote, text
from dirac_core.dbmigrate.objects import Table

_FINGERPRINT_QUERIES: dict[str, str] = {
    "columns": "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, "
    "COLLATION_NAME, GENERATION_EXPRESSION FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART, INDEX_TYPE "
    "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
    "foreign_keys": "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, "
    "k.REFERENCED_TABLE_NAME, "
    "k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE FROM information_schema.KEY_COLUMN_USAGE k "
    "JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA "
    "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME WHERE k.TABLE_SCHEMA = %s",
    "routines": "SELECT ROUTINE_TYPE, ROUTINE_NAME, ROUTINE_DEFINITION, DTD_IDENTIFIER, IS_DETERMINISTIC, "
    "SQL_DATA_ACCESS, SECURITY_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s",
    "parameters": "SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER "
    "FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = %s",
    "triggers": "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_ORDER, "
    "ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
    "views": "SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE FROM information_schema.VIEWS "
    "WHERE TABLE_SCHEMA = %s",
    "events": "SELECT EVENT_NAME, EVENT_DEFINITION, INTERVAL_VALUE, INTERVAL_FIELD, STATUS, ON_COMPLETION "
    "FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s",
}
# How many leading fields name the object (the rest is compared).
_KEY_WIDTH = {"columns": 2, "indexes": 3, "foreign_keys": 3, "routines": 2, "parameters": 2, "triggers": 1,
              "views": 1, "events": 1}  # fmt: skip
# Fields holding table names (renamed by setup_rename) per kind.
_TABLE_FIELDS = {"columns": (0,), "indexes": (0,), "foreign_keys": (0, 4), "triggers": (2,), "views": (0,)}


def fingerprint(conn: Any, db: str, rename: dict[str, str] | None = None) -> dict[str, dict[str, list[str]]]:
    """Every schema object of `db` as {kind: {object key: [attributes]}}, database name neutralised."""
    rename = rename or {}
    out: dict[str, dict[str, list[str]]] = {}
    for kind, sql in _FINGERPRINT_QUERIES.items():
        objects: dict[str, list[str]] = {}
        for row in query(conn, sql, (db,)):
            values = [_neutral(text(v), db) if v is not None else "NULL" for v in row]
            for i in _TABLE_FIELDS.get(kind, ()):
                values[i] = rename.get(values[i], values[i])
            width = _KEY_WIDTH[kind]
            objects[".".join(values[:width])] = values[width:]
        out[kind] = objects
    return out


def _neutral(value: str, db: str) -> str:
    return value.replace(f"{quote(db)}.", "").replace(f"{db}.", "")


def compare_schemas(source: dict[str, dict[str, list[str]]], target: dict[str, dict[str, list[str]]]) -> list[str]:
    """Differences as one line each ("views v_x: missing on target"); empty when the schemas agree."""
    diffs: list[str] = []
    for kind in sorted(set(source) | set(target)):
        src, tgt = source.get(kind, {}), target.get(kind, {})
        for key in sorted(set(src) - set(tgt)):
            diffs.append(f"{kind} {key}: missing on target")
        for key in sorted(set(tgt) - set(src)):
            diffs.append(f"{kind} {key}: only on target")
        for key in sorted(set(src) & set(tgt)):
            if src[key] != tgt[key]:
                diffs.append(f"{kind} {key}: source {src[key]} != target {tgt[key]}")
    return diffs


def chunk_checksum(conn: Any, db: str, table: Table, chunk: Chunk, table_name: str | None = None) -> tuple[int, str]:
    """(rows, checksum) of one chunk, computed by the server."""
    where, params = chunk.where(table)
    sql = checksum_sql(db, table, table_name)
    rows = query(conn, f"{sql} WHERE {where}", params)
    return int(rows[0][0]), text(rows[0][1])


__all__ = ["chunk_checksum", "compare_schemas", "fingerprint"]
