"""Secondary indexes added after the load, not maintained row by row during it.

LOAD DATA goes into a table with only its PRIMARY KEY; then one ``ALTER TABLE … ADD KEY …, ADD KEY …``
per table builds the secondary indexes by sorting (measured 11-19 s instead of 21-22 s for 600k
catalog files). Only plain and UNIQUE keys of tables that have a PRIMARY KEY and no FOREIGN KEY are
deferred: without a primary key InnoDB clusters on the first UNIQUE NOT NULL key, a foreign key needs
its index, and InnoDB builds only one FULLTEXT index per ALTER. Deferring UNIQUE keys is safe: the
rows come verified from a source where they were unique, and a duplicate would make the ALTER fail
loudly. Indexes are added by name, only the missing ones: a rerun after a kill (an interrupted ALTER
leaves no index) adds what is missing, and the schema comparison then checks every index.
"""

from __future__ import annotations

import re
from typing import Any

from dirac_core.dbmigrate.connect import query, quote, text

_DEFERRABLE = re.compile(r"^\s*(?:UNIQUE )?KEY `((?:[^`]|``)+)`")


def split_create(create_sql: str) -> tuple[str, list[str]]:
    """(CREATE TABLE without its deferrable secondary keys, the key clauses) from SHOW CREATE TABLE."""
    lines = create_sql.split("\n")
    if not any(line.lstrip().startswith("PRIMARY KEY") for line in lines) or "FOREIGN KEY" in create_sql:
        return create_sql, []
    keep: list[str] = []
    clauses: list[str] = []
    for line in lines:
        if _DEFERRABLE.match(line):
            clauses.append(line.strip().rstrip(","))
        else:
            keep.append(line)
    if not clauses:
        return create_sql, []
    # The definition before the closing ") ENGINE=…" line must not end with a comma any more.
    close = next(i for i in range(len(keep) - 1, -1, -1) if keep[i].startswith(")"))
    keep[close - 1] = keep[close - 1].rstrip().rstrip(",")
    return "\n".join(keep), clauses


def index_name(clause: str) -> str:
    match = _DEFERRABLE.match(clause)
    assert match is not None
    return match.group(1).replace("``", "`")


def add_missing(conn: Any, db: str, table: str, clauses: list[str]) -> list[str]:
    """ADD the clauses whose index is not on `db`.`table` yet, in one ALTER; returns the names added."""
    if not clauses:
        return []
    have = {
        text(r[0])
        for r in query(
            conn,
            "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (db, table),
        )
    }
    missing = [c for c in clauses if index_name(c) not in have]
    if missing:
        query(conn, f"ALTER TABLE {quote(db)}.{quote(table)} " + ", ".join(f"ADD {c}" for c in missing))
    return [index_name(c) for c in missing]


__all__ = ["add_missing", "index_name", "split_create"]
