"""Primary-key chunks and the canonical row form shared by dump, load and checksum.

A chunk is a half-open range ``lo <= key < hi`` of the table's leading key column (either end open),
so chunks always partition the table, whatever the key's type or composition. Tables without a
usable key are one chunk (``1 = 1``).

The canonical row form is one escaped TSV line computed by the server (``CONCAT_WS`` of each column
cast to binary, backslash/tab/newline/CR escaped, NULL as ``\\N``): it is what the dump writes, what
LOAD DATA reads back, and what the checksum hashes -- NULL-safe by construction (``\\N`` vs ``\\\\N``).
The chunk checksum is SUM over rows of the first 64 bits of MD5(line): order-independent, exact
(DECIMAL sum, no overflow) and duplicate-safe (unlike XOR), independent of the server version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dirac_core.dbmigrate.connect import query, quote, text
from dirac_core.dbmigrate.objects import Column, Table


@dataclass(frozen=True)
class KeyValue:
    """A boundary value of the leading key column, typed so the server compares it like the column."""

    kind: str  # "n" number literal, "s" string (column collation), "b" bytes
    value: str  # the number, the string, or hex of the bytes

    def param(self) -> Any:
        if self.kind == "b":
            return bytes.fromhex(self.value)
        return self.value

    def sql(self) -> str:
        """Placeholder or inline literal (numbers inline so a BIGINT is never compared as a double)."""
        return self.value if self.kind == "n" else "%s"

    def to_json(self) -> list[str]:
        return [self.kind, self.value]

    @classmethod
    def from_json(cls, data: list[str] | None) -> KeyValue | None:
        return None if data is None else cls(data[0], data[1])

    @classmethod
    def of(cls, table: Table, raw: Any) -> KeyValue:
        if table.key_numeric:
            value = text(raw)
            if not value.lstrip("-").replace(".", "", 1).isdigit():
                raise ValueError(f"{table.name}: key value {value!r} is not a number")
            return cls("n", value)
        if table.key_binary:
            return cls("b", bytes(raw).hex())
        return cls("s", text(raw))


@dataclass(frozen=True)
class Chunk:
    index: int
    lo: KeyValue | None
    hi: KeyValue | None

    def where(self, table: Table) -> tuple[str, list[Any]]:
        """SQL condition and parameters selecting exactly this chunk's rows."""
        if not table.key:
            return "1 = 1", []
        col = quote(table.key[0])
        parts: list[str] = []
        params: list[Any] = []
        if self.lo is not None:
            parts.append(f"{col} >= {self.lo.sql()}")
            if self.lo.kind != "n":
                params.append(self.lo.param())
        if self.hi is not None:
            parts.append(f"{col} < {self.hi.sql()}")
            if self.hi.kind != "n":
                params.append(self.hi.param())
        return (" AND ".join(parts) or "1 = 1"), params

    def describe(self, table: Table) -> str:
        if not table.key:
            return "whole table (no primary or unique key)"
        lo = "-inf" if self.lo is None else self.lo.value
        hi = "+inf" if self.hi is None else self.hi.value
        return f"{table.key[0]} in [{lo}, {hi})"


def plan_chunks(conn: Any, db: str, table: Table, chunk_rows: int) -> list[Chunk]:
    """Boundaries every `chunk_rows` keys, found by index range scans (run inside the snapshot)."""
    if not table.key:
        return [Chunk(0, None, None)]
    col = quote(table.key[0])
    fq = f"{quote(db)}.{quote(table.name)}"
    bounds: list[KeyValue] = []
    lo: KeyValue | None = None
    while True:
        if lo is None:
            rows = query(conn, f"SELECT {col} FROM {fq} ORDER BY {col} LIMIT 1 OFFSET {int(chunk_rows)}")
        else:
            params = [] if lo.kind == "n" else [lo.param()]
            rows = query(
                conn,
                f"SELECT {col} FROM {fq} WHERE {col} >= {lo.sql()} ORDER BY {col} LIMIT 1 OFFSET {int(chunk_rows)}",
                params,
            )
        if not rows:
            break
        bound = KeyValue.of(table, rows[0][0])
        if lo is not None and bound == lo:  # more than chunk_rows duplicates of the leading column
            params = [] if lo.kind == "n" else [lo.param()]
            nxt = query(conn, f"SELECT MIN({col}) FROM {fq} WHERE {col} > {lo.sql()}", params)
            if not nxt or nxt[0][0] is None:
                break
            bound = KeyValue.of(table, nxt[0][0])
        bounds.append(bound)
        lo = bound
    edges: list[KeyValue | None] = [None, *bounds, None]
    return [Chunk(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


_INTEGERS = ("tinyint", "smallint", "mediumint", "int", "bigint")
MAX_RANGE_CHUNKS = 100_000


def range_chunks(conn: Any, db: str, table: Table, chunk_rows: int) -> list[Chunk]:
    """Chunks of equal key width on a single integer key: two index probes instead of a scan.

    The width aims at `chunk_rows` rows from the table's row estimate; sparse or skewed keys give
    uneven chunks, never wrong ones (the ranges still partition the key space, ends open). Used by the
    physical path, which reads each chunk once (its checksum) rather than dumping it: the boundary scan
    of `plan_chunks` would be a second full pass over the table. Other keys: `plan_chunks`.
    """
    lead = next((c for c in table.columns if table.key and c.name == table.key[0]), None)
    if len(table.key) != 1 or lead is None or lead.data_type not in _INTEGERS or table.rows_estimate <= 0:
        return plan_chunks(conn, db, table, chunk_rows)
    col = quote(table.key[0])
    low, high = query(conn, f"SELECT MIN({col}), MAX({col}) FROM {quote(db)}.{quote(table.name)}")[0]
    if low is None:
        return [Chunk(0, None, None)]
    low, high = int(text(low)), int(text(high))
    span = high - low + 1
    width = max(1, -(-chunk_rows * span // table.rows_estimate), -(-span // MAX_RANGE_CHUNKS))
    bounds = [KeyValue("n", str(b)) for b in range(low + width, high + 1, width)]
    edges: list[KeyValue | None] = [None, *bounds, None]
    return [Chunk(i, edges[i], edges[i + 1]) for i in range(len(edges) - 1)]


# ---------------------------------------------------------------------------------------- row expressions
def _field(col: Column) -> str:
    name = quote(col.name)
    value = f"HEX({name})" if col.hex else f"CAST({name} AS BINARY)"
    escaped = value
    for raw, esc in (("\\\\", "\\\\\\\\"), ("\\t", "\\\\t"), ("\\n", "\\\\n"), ("\\r", "\\\\r")):  # backslash first
        escaped = f"REPLACE({escaped}, '{raw}', '{esc}')"
    return f"IFNULL({escaped}, '\\\\N')"


def line_expr(columns: list[Column]) -> str:
    """SQL computing the escaped TSV line of these columns (what LOAD DATA reads back)."""
    return "CONCAT_WS('\\t', " + ", ".join(_field(c) for c in columns) + ")"


# Types whose text form never holds a tab: no length prefix needed to keep the line unambiguous.
_TAB_FREE = {
    "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "year", "date", "time",
    "datetime", "timestamp",
}  # fmt: skip


def crc_input(columns: list[Column], lean: bool = False) -> str:
    """Unambiguous without escaping: every value preceded by its length (-1 for NULL).

    lean (``crc32v2``): numbers and dates, whose text has no tab, go without the length prefix and
    NULL becomes ``\\N`` (never the text of a number or date); strings, BIT, ENUM/SET, JSON, spatial
    keep it. Measured 40 % less server CPU per checksummed row on the FileCatalog tables.
    """
    parts: list[str] = []
    for c in columns:
        name = quote(c.name)
        if lean and c.data_type in _TAB_FREE:
            parts.append(f"IFNULL({name}, '\\\\N')")
        else:
            parts.append(f"IFNULL(LENGTH({name}), -1), CAST({name} AS BINARY)")
    return "CONCAT_WS('\\t', " + ", ".join(parts) + ")"


def hash_expr(table: Table) -> str:
    """SQL: the row hash over every column (generated ones too) as an unsigned integer.

    md5: the first 64 bits of MD5 of the escaped line. crc32: CRC32 of the length-prefixed values,
    2-3x cheaper for the servers, 32 bits per row (pt-table-checksum's default).
    """
    if table.checksum in ("crc32", "crc32v2"):  # crc32: manifests written before crc32v2 existed
        return f"CRC32({crc_input(table.columns, lean=table.checksum == 'crc32v2')})"
    return f"CAST(CONV(LEFT(MD5({line_expr(table.columns)}), 16), 16, 10) AS UNSIGNED)"


def dump_sql(db: str, table: Table) -> str:
    """Row line for the file and its hash; same as the target-side checksum when no column is generated."""
    line = line_expr(table.data_columns)
    digest = (
        f"CAST(CONV(LEFT(MD5({line}), 16), 16, 10) AS UNSIGNED)"
        if len(table.data_columns) == len(table.columns) and table.checksum == "md5"
        else hash_expr(table)
    )
    return f"SELECT {line}, {digest} FROM {quote(db)}.{quote(table.name)}"


def checksum_sql(db: str, table: Table, name: str | None = None) -> str:
    """Rows and checksum of `table` stored as `db`.`name` (default: its own name)."""
    return f"SELECT COUNT(*), IFNULL(SUM({hash_expr(table)}), 0) FROM {quote(db)}.{quote(name or table.name)}"


def load_sql(db: str, table: Table, path: str, name: str | None = None) -> str:
    """LOAD DATA of a chunk file: bytes as dumped (CHARACTER SET binary), hex columns decoded."""
    targets: list[str] = []
    sets: list[str] = []
    for i, col in enumerate(table.data_columns):
        if col.hex:
            var = f"@h{i}"
            targets.append(var)
            if col.data_type == "bit":
                sets.append(f"{quote(col.name)} = CAST(CONV({var}, 16, 10) AS UNSIGNED)")  # NULL stays NULL
            else:
                sets.append(f"{quote(col.name)} = UNHEX({var})")
        else:
            targets.append(quote(col.name))
    escaped_path = path.replace("\\", "\\\\").replace("'", "\\'")
    sql = (
        f"LOAD DATA LOCAL INFILE '{escaped_path}' INTO TABLE {quote(db)}.{quote(name or table.name)} "
        "CHARACTER SET binary "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(targets)})"
    )
    if sets:
        sql += " SET " + ", ".join(sets)
    return sql


__all__ = [
    "Chunk",
    "KeyValue",
    "checksum_sql",
    "dump_sql",
    "hash_expr",
    "line_expr",
    "load_sql",
    "plan_chunks",
    "range_chunks",
]
