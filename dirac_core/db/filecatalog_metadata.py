"""FileCatalogDB's user metadata SQL: the field lists, the per-field value tables and the metadata queries.

A field is directory metadata (``FC_MetaFields``, values in ``FC_Meta_<name>`` keyed by DirID) or file
metadata (``FC_FileMetaFields``, values in ``FC_FileMeta_<name>`` keyed by FileID): `file_meta` says which.
Directory values are inherited down the tree, so reading or matching them goes through
``FC_DirectoryClosure``. The rules (who may set what, value types, the set-once-along-a-path rule,
query parsing) live in `dirac_core.catalog.metadata`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from dirac_core.db.filecatalog_queries import chunks
from dirac_core.db.filecatalogdb import (
    FC_DirectoryClosure,
    FC_DirectoryList,
    FC_FileMetaFields,
    FC_Files,
    FC_MetaFields,
    meta_value_table,
)


@dataclass(frozen=True)
class MetaCondition:
    """One condition of a metadata query, its values already of the field's type."""

    field: str
    meta_type: str
    file_meta: bool
    op: str  # =, !=, <, >, <=, >=, in, nin
    values: Sequence[Any]


def _fields_table(file_meta: bool) -> Table:
    return FC_FileMetaFields if file_meta else FC_MetaFields


def _key(file_meta: bool) -> str:
    return "FileID" if file_meta else "DirID"


# ----------------------------------------------------------------------------- fields
def fields(conn: Connection, *, file_meta: bool) -> dict[str, str]:
    """name -> MetaType of the directory (or file) fields."""
    table = _fields_table(file_meta)
    return {name: mtype for name, mtype in conn.execute(select(table.c.MetaName, table.c.MetaType))}


def value_tables(conn: Connection, *, file_meta: bool) -> list[Table]:
    """The value table of every directory (or file) field."""
    return [meta_value_table(n, t, file_meta=file_meta) for n, t in fields(conn, file_meta=file_meta).items()]


def field_named_like(
    conn: Connection, name: str, besides: tuple[bool, str] | None = None
) -> tuple[bool, str, str] | None:
    """(file_meta, name, type) of a field whose name equals `name` up to case, other than `besides`.

    Field names are ASCII and MariaDB's default collation ignores case, so ``energy`` and ``Energy``
    are one name there, and SQLite's table names (FC_Meta_<name>) ignore case too: both backends
    decide a clash the same way, whatever the collation of the MetaName column."""
    for file_meta in (False, True):
        table = _fields_table(file_meta)
        query = select(table.c.MetaName, table.c.MetaType).where(func.lower(table.c.MetaName) == name.lower())
        for known, meta_type in conn.execute(query):
            if (file_meta, known) != besides:  # compared in Python: a case-insensitive `!=` would hide the clash
                return file_meta, str(known), str(meta_type)
    return None


def create_value_table(engine: Engine, name: str, meta_type: str, *, file_meta: bool) -> None:
    """DDL, outside any row transaction (MariaDB commits it)."""
    meta_value_table(name, meta_type, file_meta=file_meta).create(engine, checkfirst=True)


def drop_value_table(engine: Engine, name: str, meta_type: str, *, file_meta: bool) -> None:
    meta_value_table(name, meta_type, file_meta=file_meta).drop(engine, checkfirst=True)


def insert_field(conn: Connection, name: str, meta_type: str, *, file_meta: bool) -> bool:
    """False (nothing added) when the name is taken (on MariaDB: also by one equal up to case)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(_fields_table(file_meta)).values(MetaName=name, MetaType=meta_type))
    except IntegrityError:
        return False
    return True


def delete_field(conn: Connection, name: str, *, file_meta: bool) -> None:
    table = _fields_table(file_meta)
    conn.execute(delete(table).where(table.c.MetaName == name))


# ----------------------------------------------------------------------------- values
def set_value(conn: Connection, name: str, meta_type: str, *, file_meta: bool, target: int, value: Any) -> None:
    """The value of field `name` on the directory (or file) `target`, replacing any earlier one."""
    table = meta_value_table(name, meta_type, file_meta=file_meta)
    key = _key(file_meta)
    changed = conn.execute(update(table).where(table.c[key] == target).values(Value=value)).rowcount
    if not changed:
        exists = conn.execute(select(func.count()).select_from(table).where(table.c[key] == target))
        if not exists.scalar_one():
            conn.execute(insert(table).values({key: target, "Value": value}))


def unset_value(conn: Connection, name: str, meta_type: str, *, file_meta: bool, target: int) -> None:
    table = meta_value_table(name, meta_type, file_meta=file_meta)
    key = _key(file_meta)
    conn.execute(delete(table).where(table.c[key] == target))


def set_along_path(conn: Connection, name: str, meta_type: str, dir_id: int) -> str | None:
    """The name of a directory above or below `dir_id` (not itself) where directory field `name` is set."""
    table = meta_value_table(name, meta_type, file_meta=False)
    c = FC_DirectoryClosure
    # Above: closure rows whose child is dir_id name its ancestors; below: those whose parent is dir_id.
    for other, anchor in ((c.c.ParentID, c.c.ChildID), (c.c.ChildID, c.c.ParentID)):
        row = conn.execute(
            select(FC_DirectoryList.c.Name)
            .select_from(c)
            .join(table, table.c.DirID == other)
            .join(FC_DirectoryList, FC_DirectoryList.c.DirID == other)
            .where(anchor == dir_id, c.c.Depth > 0)
            .limit(1)
        ).first()
        if row is not None:
            return str(row[0])
    return None


def inherited_value(conn: Connection, name: str, meta_type: str, dir_id: int) -> tuple[Any] | None:
    """(value,) of directory field `name` on `dir_id` or the ancestor that has it; None if unset."""
    table = meta_value_table(name, meta_type, file_meta=False)
    c = FC_DirectoryClosure
    row = conn.execute(
        select(table.c.Value).join(c, c.c.ParentID == table.c.DirID).where(c.c.ChildID == dir_id)
    ).first()
    return None if row is None else (row[0],)


def file_value(conn: Connection, name: str, meta_type: str, file_id: int) -> tuple[Any] | None:
    """(value,) of file field `name` on `file_id`; None if unset."""
    table = meta_value_table(name, meta_type, file_meta=True)
    row = conn.execute(select(table.c.Value).where(table.c.FileID == file_id)).first()
    return None if row is None else (row[0],)


# ----------------------------------------------------------------------------- queries
def _clause(column: Any, op: str, values: Sequence[Any]) -> ColumnElement[bool]:
    if op == "in":
        return column.in_(list(values))  # type: ignore[no-any-return]
    if op == "nin":
        return column.not_in(list(values))  # type: ignore[no-any-return]
    value = values[0]
    return {  # type: ignore[no-any-return]
        "=": column == value,
        "!=": column != value,
        "<": column < value,
        ">": column > value,
        "<=": column <= value,
        ">=": column >= value,
    }[op]


def _joined(conditions: Sequence[MetaCondition], root: int | None) -> tuple[Any, list[ColumnElement[bool]]]:
    """FC_Files joined with one value table per condition (directory fields through the closure),
    and the WHERE clauses; `root` limits the files to that directory's subtree."""
    f = FC_Files
    joined: Any = f
    where: list[ColumnElement[bool]] = []
    for index, cond in enumerate(conditions):
        table = meta_value_table(cond.field, cond.meta_type, file_meta=cond.file_meta).alias(f"m{index}")
        if cond.file_meta:
            joined = joined.join(table, table.c.FileID == f.c.FileID)
        else:
            tree = FC_DirectoryClosure.alias(f"t{index}")
            joined = joined.join(tree, tree.c.ChildID == f.c.DirID).join(table, table.c.DirID == tree.c.ParentID)
        where.append(_clause(table.c.Value, cond.op, cond.values))
    if root is not None:
        scope = FC_DirectoryClosure.alias("scope")
        joined = joined.join(scope, scope.c.ChildID == f.c.DirID)
        where.append(scope.c.ParentID == root)
    return joined, where


def matching_names(conn: Connection, conditions: Sequence[MetaCondition], root: int | None) -> list[tuple[str, str]]:
    """(directory, file name) of the files matching all `conditions`: one join."""
    d = FC_DirectoryList
    joined, where = _joined(conditions, root)
    query = select(d.c.Name, FC_Files.c.FileName).select_from(joined.join(d, d.c.DirID == FC_Files.c.DirID))
    return [(str(head), str(name)) for head, name in conn.execute(query.where(*where))]


def matching_ids(conn: Connection, conditions: Sequence[MetaCondition], root: int | None) -> set[int]:
    """FileIDs of the files matching all `conditions`."""
    joined, where = _joined(conditions, root)
    return {int(row[0]) for row in conn.execute(select(FC_Files.c.FileID).select_from(joined).where(*where))}


def file_names(conn: Connection, file_ids: Sequence[int], chunk: int) -> list[tuple[str, str]]:
    """(directory, file name) of `file_ids`, `chunk` ids per SELECT."""
    f, d = FC_Files, FC_DirectoryList
    out: list[tuple[str, str]] = []
    for part in chunks(file_ids, chunk):
        query = select(d.c.Name, f.c.FileName).join(d, d.c.DirID == f.c.DirID).where(f.c.FileID.in_(part))
        out.extend((str(head), str(name)) for head, name in conn.execute(query))
    return out
