"""Chunk checksums for the cutover's verification: per table, per integer-key chunk, on either server.

A chunk is ``key DIV chunk_rows`` of a single-column integer primary key (tables without one are a
single chunk, 'all'). Its checksum is the row count and the SUM of a per-row CRC32 over every
column (NULL-safe, HEX of each value: independent of the server version); SUM is order-independent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dirac_core.dbmigrate.binlog_delta import KeyColumn, chunk_bounds
from dirac_core.dbmigrate.replication import query

CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class TableShape:
    database: str
    table: str
    columns: list[str]
    int_key: str | None  # single-column integer primary key, used for chunking
    key_unsigned: bool = False

    @property
    def qualified(self) -> str:
        return f"`{self.database}`.`{self.table}`"

    def on(self, database: str | None) -> TableShape:
        """The same table under another database name (the target's, when the plan renames it)."""
        return (
            self
            if not database or database == self.database
            else TableShape(database, self.table, self.columns, self.int_key, self.key_unsigned)
        )

    def key_column(self) -> KeyColumn:
        position = self.columns.index(self.int_key) + 1 if self.int_key else None
        return KeyColumn(self.database, self.table, position, self.key_unsigned)


def table_shapes(conn: Any, databases: Sequence[str]) -> list[TableShape]:
    marks = ",".join(["%s"] * len(databases))
    tables = query(
        conn,
        f"SELECT TABLE_SCHEMA AS db, TABLE_NAME AS t FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA IN ({marks}) AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2",
        list(databases),
    )
    shapes = []
    for row in tables:
        cols = query(
            conn,
            "SELECT COLUMN_NAME AS c, COLUMN_KEY AS k, DATA_TYPE AS t, COLUMN_TYPE AS ct "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (row["db"], row["t"]),
        )
        pk = [c for c in cols if c["k"] == "PRI"]
        integer = len(pk) == 1 and pk[0]["t"] in ("tinyint", "smallint", "mediumint", "int", "bigint")
        int_key = pk[0]["c"] if integer else None
        unsigned = integer and "unsigned" in str(pk[0]["ct"]).lower()
        shapes.append(TableShape(row["db"], row["t"], [c["c"] for c in cols], int_key, unsigned))
    return shapes


def _row_hash(shape: TableShape) -> str:
    # NULL-safe (IFNULL marker) and type-independent (HEX of the value's text) per-row CRC.
    parts = ", ".join(f"IFNULL(HEX(`{c}`), '-')" for c in shape.columns)
    return f"CRC32(CONCAT_WS('|', {parts}))"


def chunk_checksums(
    conn: Any, shape: TableShape, chunk_rows: int, chunks: set[str] | None = None
) -> dict[str, list[int]]:
    """``{chunk: [rows, sum_crc]}``; chunks are ``key DIV chunk_rows`` (or one 'all' without integer key).

    `chunks` limits the scan to those chunks (index ranges), e.g. the ones the binlog shows touched.
    """
    if shape.int_key is None or (chunks is not None and "all" in chunks):
        sql = f"SELECT COUNT(*) AS n, COALESCE(SUM({_row_hash(shape)}), 0) AS s FROM {shape.qualified}"
        if shape.int_key is None:
            row = query(conn, sql)[0]
            return {"all": [int(row["n"]), int(row["s"])]}
        chunks = None
    key = f"`{shape.int_key}`"
    where = ""
    if chunks is not None:
        if not chunks:
            return {}
        ranges = [chunk_bounds(int(c), chunk_rows) for c in sorted(chunks, key=int)]
        where = " WHERE " + " OR ".join(f"{key} BETWEEN {lo} AND {hi}" for lo, hi in ranges)
    rows = query(
        conn,
        f"SELECT {key} DIV {int(chunk_rows)} AS c, COUNT(*) AS n, SUM({_row_hash(shape)}) AS s "
        f"FROM {shape.qualified}{where} GROUP BY 1",
    )
    return {str(int(r["c"])): [int(r["n"]), int(r["s"])] for r in rows}


def compare(
    source: dict[str, dict[str, list[int]]], target: dict[str, dict[str, list[int]]], chunk_rows: int
) -> list[str]:
    """FAIL lines naming the table and key range of every differing chunk."""
    failures = []
    for table in sorted(set(source) | set(target)):
        s, t = source.get(table, {}), target.get(table, {})
        for chunk in sorted(set(s) | set(t), key=lambda c: (len(c), c)):
            if s.get(chunk) != t.get(chunk):
                low, high = chunk_bounds(int(chunk), chunk_rows) if chunk != "all" else (0, 0)
                where = "all rows" if chunk == "all" else f"key {low}..{high}"
                failures.append(f"FAIL {table} {where}: source {s.get(chunk)} target {t.get(chunk)} (rows, crc)")
    return failures


def checksums(
    conn: Any,
    shapes: Sequence[TableShape],
    chunk_rows: int,
    touched: dict[tuple[str, str], set[str]] | None,
    target_names: dict[str, str] | None = None,
) -> dict[str, dict[str, list[int]]]:
    """Per table (source-qualified name) chunk checksums: all chunks, or only the touched ones."""
    sums: dict[str, dict[str, list[int]]] = {}
    for shape in shapes:
        chunks = None if touched is None else touched.get((shape.database, shape.table), set())
        if chunks is not None and not chunks:
            continue
        on = shape.on((target_names or {}).get(shape.database)) if target_names is not None else shape
        sums[shape.qualified] = chunk_checksums(conn, on, chunk_rows, chunks)
    return sums
