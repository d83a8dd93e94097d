"""Schema objects of any MariaDB/MySQL database: read them from the source, create them on the target.

Tables come from SHOW CREATE TABLE (AUTO_INCREMENT counters, charsets, generated columns and foreign
keys included) and are created with FOREIGN_KEY_CHECKS=0, so no load order is needed. Views,
routines, triggers and events are created after the data: triggers must not fire during the load,
and views may use functions. DEFINER clauses are dropped (the objects then belong to the migration
user): the source's accounts usually do not exist on a new server. See docs/dbmigrate.md.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from dirac_core.dbmigrate.connect import query, quote, text
from dirac_core.dbmigrate.deferred_indexes import split_create

_DEFINER = re.compile(r"\s*DEFINER\s*=\s*(`[^`]*`|'[^']*'|[^\s@]+)(@(`[^`]*`|'[^']*'|\S+))?", re.IGNORECASE)
_AUTO_INC = re.compile(r"\s*AUTO_INCREMENT=\d+", re.IGNORECASE)

# Column types whose text form does not load back through LOAD DATA: moved as hex instead.
_HEX_TYPES = {"bit", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
              "multipolygon", "geometrycollection"}  # fmt: skip


# Leading key types whose value order as text differs from the index order (ENUM/SET order by their
# ordinal, BIT/spatial travel as hex, floats round-trip through text): such tables are one chunk.
_UNCHUNKABLE = _HEX_TYPES | {"enum", "set", "float", "double", "json"}


@dataclass
class Column:
    name: str
    data_type: str  # information_schema DATA_TYPE: int, varchar, blob, bit, ...
    column_type: str
    generated: bool

    @property
    def hex(self) -> bool:
        return self.data_type in _HEX_TYPES


@dataclass
class Table:
    name: str
    create_sql: str
    columns: list[Column]
    key: list[str]  # primary key, else a NOT NULL unique key, else [] (no key: one chunk)
    key_numeric: bool = False  # leading key column is an integer/decimal type
    key_binary: bool = False  # leading key column compares bytewise (binary/varbinary/blob)
    rows_estimate: int = 0
    checksum: str = "md5"  # row hash of the verification: crc32 (the plan's default) or md5

    @property
    def data_columns(self) -> list[Column]:
        """Columns that carry data: generated columns are recomputed by the target."""
        return [c for c in self.columns if not c.generated]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        cols = [Column(**c) for c in data["columns"]]
        return cls(**{**data, "columns": cols})


@dataclass
class PostObject:
    """A view, routine, trigger or event: created after the data, in this order of kinds."""

    kind: str  # VIEW, FUNCTION, PROCEDURE, TRIGGER, EVENT; SEQUENCE (created before the tables)
    name: str
    create_sql: str
    sql_mode: str = ""
    time_zone: str = ""
    value: str = ""  # SEQUENCE: the source's next_not_cached_value


@dataclass
class SchemaDump:
    database: str
    create_database: str
    tables: list[Table] = field(default_factory=list)
    objects: list[PostObject] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "create_database": self.create_database,
            "tables": [t.to_json() for t in self.tables],
            "objects": [asdict(o) for o in self.objects],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SchemaDump:
        return cls(
            database=data["database"],
            create_database=data["create_database"],
            tables=[Table.from_json(t) for t in data["tables"]],
            objects=[PostObject(**o) for o in data["objects"]],
        )


def strip_definer(sql: str) -> str:
    return _DEFINER.sub("", sql, count=1)


# ----------------------------------------------------------------------------------------------- reading
def read_schema(conn: Any, db: str) -> SchemaDump:
    """Everything needed to recreate `db` elsewhere (run inside the dump snapshot for a consistent view)."""
    create_db = text(query(conn, f"SHOW CREATE DATABASE {quote(db)}")[0][1])
    dump = SchemaDump(database=db, create_database=create_db)
    rows = query(
        conn,
        "SELECT TABLE_NAME, TABLE_TYPE, IFNULL(TABLE_ROWS, 0) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
        (db,),
    )
    sequences: list[PostObject] = []
    for name_raw, type_raw, rows_est in rows:
        name, ttype = text(name_raw), text(type_raw)
        if ttype == "SEQUENCE":
            sequences.append(_read_sequence(conn, db, name))
        if ttype not in ("BASE TABLE", "SYSTEM VERSIONED"):
            continue  # views are post objects; temporary tables are not migrated
        dump.tables.append(_read_table(conn, db, name, int(rows_est)))
    dump.objects = (
        sequences + _read_views(conn, db) + _read_routines(conn, db) + _read_triggers(conn, db) + _read_events(conn, db)
    )
    return dump


def _read_table(conn: Any, db: str, name: str, rows_est: int) -> Table:
    # Same-database references (DEFAULT NEXTVAL(`db`.`seq`)) are unqualified so target_name works.
    create_sql = text(query(conn, f"SHOW CREATE TABLE {quote(db)}.{quote(name)}")[0][1]).replace(f"{quote(db)}.", "")
    cols = read_columns(conn, db, name)
    key = _chunk_key(conn, db, name, cols)
    if key and next(c for c in cols if c.name == key[0]).data_type in _UNCHUNKABLE:
        key = []  # ranges on these would not follow the index order: one chunk, still exact
    table = Table(name=name, create_sql=create_sql, columns=cols, key=key, rows_estimate=rows_est)
    if key:
        lead = next(c for c in cols if c.name == key[0])
        table.key_numeric = lead.data_type in (
            "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "year",
        )  # fmt: skip
        table.key_binary = lead.data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob")
    return table


# EXTRA says "VIRTUAL GENERATED"/"STORED GENERATED" on MariaDB >= 10.2 and MySQL >= 5.7 (IS_GENERATED
# is MariaDB-only; MySQL's "DEFAULT_GENERATED" is an expression default, not a generated column).
# (LOCATE, not LIKE: these queries take %s parameters.)
_GENERATED = "(LOCATE('VIRTUAL', EXTRA) > 0 OR LOCATE('STORED', EXTRA) > 0 OR LOCATE('PERSISTENT', EXTRA) > 0)"


def read_columns(conn: Any, db: str, table: str) -> list[Column]:
    return [
        Column(text(c[0]), text(c[1]).lower(), text(c[2]), int(text(c[3]) or 0) == 1)
        for c in query(
            conn,
            f"SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, {_GENERATED} FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (db, table),
        )
    ]


def _chunk_key(conn: Any, db: str, name: str, cols: list[Column]) -> list[str]:
    """Primary key, else the first unique key whose columns are all NOT NULL and not generated."""
    rows = query(
        conn,
        f"SELECT s.INDEX_NAME, s.COLUMN_NAME, c.IS_NULLABLE, {_GENERATED.replace('EXTRA', 'c.EXTRA')} "
        "FROM information_schema.STATISTICS s JOIN information_schema.COLUMNS c "
        "ON c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "
        "WHERE s.TABLE_SCHEMA = %s AND s.TABLE_NAME = %s AND s.NON_UNIQUE = 0 "
        "ORDER BY s.INDEX_NAME = 'PRIMARY' DESC, s.INDEX_NAME, s.SEQ_IN_INDEX",
        (db, name),
    )
    keys: dict[str, list[tuple[str, bool]]] = {}
    for idx, col, nullable, gen in rows:
        keys.setdefault(text(idx), []).append((text(col), text(nullable) == "NO" and int(text(gen) or 0) == 0))
    for _idx, parts in keys.items():
        if all(ok for _, ok in parts):
            return [c for c, _ in parts]
    return []


def _read_sequence(conn: Any, db: str, name: str) -> PostObject:
    create = text(query(conn, f"SHOW CREATE SEQUENCE {quote(db)}.{quote(name)}")[0][1])
    value = text(query(conn, f"SELECT next_not_cached_value FROM {quote(db)}.{quote(name)}")[0][0])
    return PostObject("SEQUENCE", name, create, value=value)


def _read_views(conn: Any, db: str) -> list[PostObject]:
    out = []
    for (name_raw,) in query(
        conn, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (db,)
    ):
        name = text(name_raw)
        row = query(conn, f"SHOW CREATE VIEW {quote(db)}.{quote(name)}")[0]
        # The server qualifies same-database tables with the source name: unqualify for target_name.
        out.append(PostObject("VIEW", name, strip_definer(text(row[1])).replace(f"{quote(db)}.", "")))
    return out


def _read_routines(conn: Any, db: str) -> list[PostObject]:
    out = []
    for name_raw, kind_raw in query(
        conn,
        "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s "
        "ORDER BY ROUTINE_TYPE, ROUTINE_NAME",
        (db,),
    ):
        name, kind = text(name_raw), text(kind_raw)
        if kind not in ("FUNCTION", "PROCEDURE"):
            continue  # PACKAGE (Oracle mode) is not migrated
        row = query(conn, f"SHOW CREATE {kind} {quote(db)}.{quote(name)}")[0]
        if row[2] is None:
            raise PermissionError(f"cannot read the body of {kind} {db}.{name}: grant SELECT on mysql.proc or SUPER")
        out.append(PostObject(kind, name, strip_definer(text(row[2])), sql_mode=text(row[1])))
    return out


def _read_triggers(conn: Any, db: str) -> list[PostObject]:
    out = []
    for (name_raw,) in query(
        conn,
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s "
        "ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
        (db,),
    ):
        name = text(name_raw)
        row = query(conn, f"SHOW CREATE TRIGGER {quote(db)}.{quote(name)}")[0]
        out.append(PostObject("TRIGGER", name, strip_definer(text(row[2])), sql_mode=text(row[1])))
    return out


def _read_events(conn: Any, db: str) -> list[PostObject]:
    out = []
    for (name_raw,) in query(
        conn, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = %s ORDER BY EVENT_NAME", (db,)
    ):
        name = text(name_raw)
        row = query(conn, f"SHOW CREATE EVENT {quote(db)}.{quote(name)}")[0]
        out.append(
            PostObject("EVENT", name, strip_definer(text(row[3])), sql_mode=text(row[1]), time_zone=text(row[2]))
        )
    return out


# ---------------------------------------------------------------------------------------------- creating
def create_database(conn: Any, dump: SchemaDump, target_db: str) -> None:
    """CREATE DATABASE with the source's character set and collation."""
    sql = dump.create_database
    m = re.search(r"(DEFAULT\s+CHARACTER\s+SET.*?)(\*/)?\s*$", sql, re.IGNORECASE | re.DOTALL)
    options = m.group(1) if m else "CHARACTER SET utf8mb4"
    query(conn, f"CREATE DATABASE IF NOT EXISTS {quote(target_db)} {options}")


def create_tables(
    conn: Any, dump: SchemaDump, target_db: str, rename: dict[str, str] | None = None, defer_indexes: bool = False
) -> None:
    """Create every table (FOREIGN_KEY_CHECKS=0: foreign keys may point to tables created later).

    defer_indexes: without the secondary keys `deferred_indexes.split_create` defers (added after the load).
    """

    rename = rename or {}
    query(conn, f"USE {quote(target_db)}")
    query(conn, "SET FOREIGN_KEY_CHECKS = 0")
    try:
        # Sequences first: a table's DEFAULT NEXT VALUE FOR s needs s. The target continues where a
        # restarted source would (its next not-cached value): no value is handed out twice.
        for seq in (o for o in dump.objects if o.kind == "SEQUENCE"):
            query(conn, f"DROP SEQUENCE IF EXISTS {quote(seq.name)}")
            query(conn, seq.create_sql)
            query(conn, f"SELECT SETVAL({quote(seq.name)}, {int(seq.value) - 1})")
        for table in dump.tables:
            sql = split_create(table.create_sql)[0] if defer_indexes else table.create_sql
            new = rename.get(table.name)
            if new:
                sql = sql.replace(f"CREATE TABLE {quote(table.name)}", f"CREATE TABLE {quote(new)}", 1)
            query(conn, f"DROP TABLE IF EXISTS {quote(new or table.name)}")
            query(conn, sql)
    finally:
        query(conn, "SET FOREIGN_KEY_CHECKS = 1")


def drop_post_objects(conn: Any, dump: SchemaDump, target_db: str) -> None:
    """Drop triggers (and the rest) so that a reload does not fire them; they are recreated at the end."""
    for obj in reversed(dump.objects):
        if obj.kind != "SEQUENCE":
            query(conn, f"DROP {obj.kind} IF EXISTS {quote(target_db)}.{quote(obj.name)}")


def create_post_objects(conn: Any, dump: SchemaDump, target_db: str) -> None:
    """Views (in dependency order, found by retrying), routines, triggers, events; idempotent."""
    query(conn, f"USE {quote(target_db)}")
    drop_post_objects(conn, dump, target_db)
    routines = [o for o in dump.objects if o.kind in ("FUNCTION", "PROCEDURE")]
    views = [o for o in dump.objects if o.kind == "VIEW"]
    rest = [o for o in dump.objects if o.kind in ("TRIGGER", "EVENT")]
    for obj in routines:
        _create(conn, obj)
    pending = views
    while pending:
        failed: list[tuple[PostObject, Exception]] = []
        for obj in pending:
            try:
                _create(conn, obj)
            except Exception as exc:  # a view on a view not created yet: retry in the next round
                failed.append((obj, exc))
        if len(failed) == len(pending):
            first, error = failed[0]
            raise RuntimeError(f"cannot create VIEW {target_db}.{first.name}: {error}")
        pending = [obj for obj, _ in failed]
    for obj in rest:
        _create(conn, obj)
    query(conn, "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00'")


def _create(conn: Any, obj: PostObject) -> None:
    query(conn, "SET sql_mode = %s", (obj.sql_mode,))
    if obj.time_zone:
        query(conn, "SET time_zone = %s", (obj.time_zone,))
    query(conn, obj.create_sql)
    query(conn, "SET time_zone = '+00:00'")


def drop_table_auto_increment(sql: str) -> str:
    return _AUTO_INC.sub("", sql)


__all__ = [
    "Column",
    "PostObject",
    "SchemaDump",
    "Table",
    "create_database",
    "create_post_objects",
    "create_tables",
    "drop_post_objects",
    "read_columns",
    "read_schema",
    "strip_definer",
]
