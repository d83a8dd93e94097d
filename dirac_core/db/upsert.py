"""One bulk "insert or update" statement on both backends (DIRAC's ``INSERT ... ON DUPLICATE KEY UPDATE``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import mysql, sqlite


def upsert_many(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], update_columns: Sequence[str]) -> None:
    """Insert `rows` (executemany); rows whose primary key exists get `update_columns` overwritten."""
    if not rows:
        return
    if conn.dialect.name in {"mysql", "mariadb"}:
        my_stmt = mysql.insert(table)
        conn.execute(
            my_stmt.on_duplicate_key_update({name: my_stmt.inserted[name] for name in update_columns}), list(rows)
        )
        return
    lite_stmt = sqlite.insert(table)
    keys = [column.name for column in table.primary_key.columns]
    conn.execute(
        lite_stmt.on_conflict_do_update(
            index_elements=keys, set_={name: lite_stmt.excluded[name] for name in update_columns}
        ),
        list(rows),
    )
