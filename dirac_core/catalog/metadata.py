"""User metadata on directories and files: fields, values, and findFilesByMetadata.

Directory metadata is inherited by everything below the directory (DIRAC's rule), and a field may be
set only once along a path: setting ``energy`` on ``/vo/data/run1`` when ``/vo/data`` already has it
is a Conflict. So a file's value of a directory field is the value of the one ancestor that has it,
and a query condition is one indexed join: value table -> FC_DirectoryClosure -> FC_Files.
Conditions are evaluated to sets of FileIDs that AND/OR intersect or unite.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.permissions import WRITE, allowed, is_admin
from dirac_core.catalog.query import BoolOp, Condition, Node, QueryLimits, as_query
from dirac_core.catalog.store import NO_SUCH, CatalogStore, chunks
from dirac_core.db.filecatalogdb import (
    FC_DirectoryClosure,
    FC_DirectoryList,
    FC_FileMetaFields,
    FC_Files,
    FC_MetaFields,
    meta_value_table,
    normalize_meta_type,
)
from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound

DIR, FILE = "-d", "-f"  # DIRAC's metaType flags of addMetadataField


def _fields(conn: Connection, table: Table) -> dict[str, str]:
    return {name: mtype for name, mtype in conn.execute(select(table.c.MetaName, table.c.MetaType))}


class _NameTaken(Exception):
    def __init__(self, field: tuple[str, str, str]) -> None:
        super().__init__(field[1])
        self.field = field


def _same_name_in(conn: Connection, name: str, besides: tuple[str, str] | None = None) -> tuple[str, str, str] | None:
    """(kind, name, type) of the field whose name equals `name` up to case, if any.

    Field names are ASCII and MariaDB's default collation ignores case, so ``energy`` and ``Energy``
    are one name there, and SQLite's table names (FC_Meta_<name>) ignore case too: both backends
    decide a clash the same way, whatever the collation of the MetaName column."""
    for kind, table in ((DIR, FC_MetaFields), (FILE, FC_FileMetaFields)):
        query = select(table.c.MetaName, table.c.MetaType).where(func.lower(table.c.MetaName) == name.lower())
        for known, meta_type in conn.execute(query):
            if (kind, known) != besides:  # compared in Python: a case-insensitive `!=` would hide the clash
                return kind, str(known), str(meta_type)
    return None


def file_meta_tables(conn: Connection) -> list[Table]:
    return [meta_value_table(n, t, file_meta=True) for n, t in _fields(conn, FC_FileMetaFields).items()]


def dir_meta_tables(conn: Connection) -> list[Table]:
    return [meta_value_table(n, t, file_meta=False) for n, t in _fields(conn, FC_MetaFields).items()]


def coerce(field: str, meta_type: str, value: Any) -> Any:
    """`value` as the field's type; BadRequest naming the field otherwise."""
    try:
        if meta_type == "INT":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value)
            if not -(1 << 63) <= number < 1 << 63:
                raise ValueError
            return number
        if meta_type == "FLOAT":
            real = float(value) if not isinstance(value, bool) else math.nan
            if not math.isfinite(real):
                raise ValueError
            return real
        if meta_type == "DATETIME":
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            # The column has no zone: an offset given is applied (stored as UTC), never dropped.
            return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment
        text = str(value)
        limit = int(meta_type[8:-1])
        if len(text) > limit:
            raise BadRequest(f"metadata {field} = {text[:30]!r}... is longer than {limit} characters ({meta_type})")
        return text
    except (TypeError, ValueError):
        raise BadRequest(f"metadata {field} = {value!r} is not a valid {meta_type} value") from None


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


def _conjunction(node: Node) -> list[Condition] | None:
    """The conditions of a single condition or an AND of conditions; None if the tree has an OR."""
    if isinstance(node, Condition):
        return [node]
    if node.op == "AND" and all(isinstance(item, Condition) for item in node.items):
        return [item for item in node.items if isinstance(item, Condition)]
    return None


class Metadata:
    def __init__(self, store: CatalogStore, query_limits: QueryLimits | None = None) -> None:
        self.store = store
        self.query_limits = query_limits or QueryLimits()
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, str]] | None = None

    # ------------------------------------------------------------------------------- fields
    def fields(self, refresh: bool = False) -> dict[str, dict[str, str]]:
        """getMetadataFields: ``{"DirectoryMetaFields": {name: type}, "FileMetaFields": {...}}``."""
        if self._cache is None or refresh:
            with self.store.engine.connect() as conn:
                cache = {DIR: _fields(conn, FC_MetaFields), FILE: _fields(conn, FC_FileMetaFields)}
            with self._lock:
                self._cache = cache
        assert self._cache is not None
        return {"DirectoryMetaFields": dict(self._cache[DIR]), "FileMetaFields": dict(self._cache[FILE])}

    def field(self, name: str) -> tuple[str, str]:
        """(kind, MetaType) of a field; BadRequest for unknown ones."""
        for refresh in (False, True):  # another process may have added it
            known = self.fields(refresh)
            if name in known["DirectoryMetaFields"]:
                return DIR, known["DirectoryMetaFields"][name]
            if name in known["FileMetaFields"]:
                return FILE, known["FileMetaFields"][name]
        names = sorted({*known["DirectoryMetaFields"], *known["FileMetaFields"]})
        raise BadRequest(
            f"unknown metadata field {name!r}: known fields are {', '.join(names) or 'none'} "
            "(an administrator adds fields with addMetadataField)"
        )

    def add_field(self, caller: Caller, name: str, meta_type: str, kind: str = DIR) -> str:
        """addMetadataField (FileCatalogManagement): creates the field and its value table."""
        if not is_admin(caller):
            raise Forbidden(f"{caller.username} may not add metadata fields: it needs FileCatalogManagement")
        if kind not in {DIR, FILE}:
            raise BadRequest(f"metadata kind {kind!r}: use -d (directory) or -f (file)")
        normalized = normalize_meta_type(meta_type)
        table = meta_value_table(name, normalized, file_meta=kind == FILE)
        fields_table = FC_MetaFields if kind == DIR else FC_FileMetaFields
        existing = self._same_name(name)
        if existing is None:
            table.create(self.store.engine, checkfirst=True)  # DDL: outside the row transaction (MariaDB commits it)
            try:
                # Insert, then look for another name equal up to case, in one transaction: the insert holds
                # the write lock (SQLite) so a concurrent add waits, and a clash rolls this one back.
                with self.store.engine.begin() as conn:
                    conn.execute(insert(fields_table).values(MetaName=name, MetaType=normalized))
                    clash = _same_name_in(conn, name, besides=(kind, name))
                    if clash is not None:
                        raise _NameTaken(clash)
            except _NameTaken as taken:
                existing = taken.field
            except IntegrityError:  # added concurrently under this name (MariaDB: or one equal up to case)
                existing = self._same_name(name)
        self.fields(refresh=True)
        if existing is None:
            return f"metadata field {name} added ({normalized})"
        known_kind, known_name, known_type = existing
        if known_kind != kind:
            where = "directory" if known_kind == DIR else "file"
            raise Conflict(f"metadata field {name!r} clashes with the {where} field {known_name!r}: pick another name")
        if known_name != name:
            raise Conflict(
                f"metadata field {name!r} clashes with the existing field {known_name!r}: "
                "field names are case-insensitive, use that one or pick another name"
            )
        if known_type != normalized:
            raise Conflict(f"metadata field {name!r} already exists with type {known_type}")
        return f"metadata field {name} already exists"

    def _same_name(self, name: str) -> tuple[str, str, str] | None:
        with self.store.engine.connect() as conn:
            return _same_name_in(conn, name)

    def delete_field(self, caller: Caller, name: str) -> None:
        """deleteMetadataField (FileCatalogManagement): drops the field and all its values."""
        if not is_admin(caller):
            raise Forbidden(f"{caller.username} may not delete metadata fields: it needs FileCatalogManagement")
        kind, meta_type = self.field(name)
        fields_table = FC_MetaFields if kind == DIR else FC_FileMetaFields
        with self.store.engine.begin() as conn:
            conn.execute(delete(fields_table).where(fields_table.c.MetaName == name))
            twin = _same_name_in(conn, name)
        # A twin equal up to case can only predate the clash check, on SQLite, where both names are one table.
        if twin is None or twin[0] != kind:
            meta_value_table(name, meta_type, file_meta=kind == FILE).drop(self.store.engine, checkfirst=True)
        self.fields(refresh=True)

    # ------------------------------------------------------------------------------- values
    def _target(self, conn: Connection, caller: Caller, path: str) -> tuple[str, int]:
        """(kind, id) of the directory or file at `path`, after the write-permission check."""
        rows = self.store.dir_rows(conn, [path, lfn.parent(path)])
        uid, gid = self.store.caller_ids(caller, conn)
        if path in rows:
            row = rows[path]
            if not allowed(caller, row, uid, gid, WRITE):
                raise Forbidden(f"Permission denied: {caller.username} may not set metadata on {path}")
            return DIR, row.dir_id
        found = self.store.find_files(conn, [path])
        if path not in found:
            raise NotFound(f"{NO_SUCH}: {path}")
        parent_row = rows[lfn.parent(path)]
        if not allowed(caller, parent_row, uid, gid, WRITE):
            raise Forbidden(f"Permission denied: {caller.username} may not set metadata on {path}")
        return FILE, found[path].file_id

    def set_values(self, caller: Caller, path: str, values: Mapping[str, Any]) -> None:
        """setMetadata on a directory (inherited below it) or a file; all fields or none."""
        path = lfn.check_path(path)
        if not isinstance(values, Mapping) or not values:
            raise BadRequest("metadata must be a non-empty dict of field -> value")
        with self.store.engine.begin() as conn:
            kind, target = self._target(conn, caller, path)
            typed: dict[str, tuple[Table, Any]] = {}
            for name, value in values.items():
                field_kind, meta_type = self.field(str(name))
                if field_kind != kind:
                    where = "directories" if field_kind == DIR else "files"
                    raise BadRequest(f"metadata field {name!r} is set on {where}, and {path} is not one")
                table = meta_value_table(str(name), meta_type, file_meta=kind == FILE)
                typed[str(name)] = (table, coerce(str(name), meta_type, value))
            key = "FileID" if kind == FILE else "DirID"
            for name, (table, value) in typed.items():
                if kind == DIR:
                    self._check_single_definition(conn, table, name, target, path)
                changed = conn.execute(update(table).where(table.c[key] == target).values(Value=value)).rowcount
                if not changed:
                    exists = conn.execute(select(func.count()).select_from(table).where(table.c[key] == target))
                    if not exists.scalar_one():
                        conn.execute(insert(table).values({key: target, "Value": value}))
        self.store.record("setMetadata", caller, "", 1, 0, 1, 0)

    def _check_single_definition(self, conn: Connection, table: Table, name: str, dir_id: int, path: str) -> None:
        c = FC_DirectoryClosure
        d = FC_DirectoryList
        clash = (
            conn.execute(
                select(d.c.Name)
                .select_from(c)
                .join(table, table.c.DirID == c.c.ParentID)
                .join(d, d.c.DirID == c.c.ParentID)
                .where(c.c.ChildID == dir_id, c.c.Depth > 0)
                .limit(1)
            ).first()
            or conn.execute(
                select(d.c.Name)
                .select_from(c)
                .join(table, table.c.DirID == c.c.ChildID)
                .join(d, d.c.DirID == c.c.ChildID)
                .where(c.c.ParentID == dir_id, c.c.Depth > 0)
                .limit(1)
            ).first()
        )
        if clash is not None:
            raise Conflict(
                f"metadata conflict: {name} is already set on {clash[0]}, which is inside or above {path}: "
                "a directory field is set once along a path"
            )

    def remove(self, caller: Caller, path: str, names: Sequence[str]) -> None:
        """removeMetadata: unset fields of a directory or file."""
        path = lfn.check_path(path)
        with self.store.engine.begin() as conn:
            kind, target = self._target(conn, caller, path)
            key = "FileID" if kind == FILE else "DirID"
            for name in names:
                field_kind, meta_type = self.field(str(name))
                if field_kind == kind:
                    table = meta_value_table(str(name), meta_type, file_meta=kind == FILE)
                    conn.execute(delete(table).where(table.c[key] == target))

    def get(self, caller: Caller, path: str) -> dict[str, Any]:
        """getDirectoryUserMetadata / getFileUserMetadata: own values plus those inherited from directories.

        Needs read access to the directory (of the file)."""
        path = lfn.check_path(path)
        known = self.fields()
        result: dict[str, Any] = {}
        c = FC_DirectoryClosure
        with self.store.engine.connect() as conn:
            dir_ids = self.store.dir_ids(conn, [path])
            file_id = None
            if path in dir_ids:
                dir_id = dir_ids[path]
                denied = self.store.read_denied(conn, caller, [path])
            else:
                found = self.store.find_files(conn, [path])
                if path not in found:
                    raise NotFound(f"{NO_SUCH}: {path}")
                file_id, dir_id = found[path].file_id, found[path].dir_id
                denied = self.store.read_denied(conn, caller, [lfn.parent(path)])
            if denied:
                raise Forbidden(next(iter(denied.values())))
            for name, meta_type in known["DirectoryMetaFields"].items():
                table = meta_value_table(name, meta_type, file_meta=False)
                row = conn.execute(
                    select(table.c.Value).join(c, c.c.ParentID == table.c.DirID).where(c.c.ChildID == dir_id)
                ).first()
                if row is not None:
                    result[name] = row[0]
            if file_id is not None:
                for name, meta_type in known["FileMetaFields"].items():
                    table = meta_value_table(name, meta_type, file_meta=True)
                    row = conn.execute(select(table.c.Value).where(table.c.FileID == file_id)).first()
                    if row is not None:
                        result[name] = row[0]
        return result

    # ------------------------------------------------------------------------------- queries
    def find(self, caller: Caller, query: str | Mapping[str, Any], path: str = "/") -> list[str]:
        """findFilesByMetadata: LFNs under `path` matching `query` (string or DIRAC metaDict), sorted.

        Without GlobalReadAccess, hits in directories the caller may not read are left out.

        A condition or an AND of conditions (the usual query) is one SQL join returning the LFNs;
        OR branches are evaluated to FileID sets that are united (and intersected for ANDs above them).
        """
        node = as_query(query, self.query_limits)
        path = lfn.check_path(path)
        with self.store.engine.connect() as conn:
            ids = self.store.dir_ids(conn, [path])
            if path not in ids:
                raise NotFound(f"{NO_SUCH}: directory {path}")
            root = None if path == "/" else ids[path]
            conditions = _conjunction(node)
            if conditions is not None:
                d = FC_DirectoryList
                joined = self._joined(conditions, root)
                query_names = select(d.c.Name, FC_Files.c.FileName).select_from(
                    joined[0].join(d, d.c.DirID == FC_Files.c.DirID)
                )
                rows = conn.execute(query_names.where(*joined[1]))
                hits = [lfn.child_prefix(head) + name for head, name in rows]
            else:
                hits = self._names(conn, sorted(self._eval(conn, node, root)))
            denied = self.store.read_denied(conn, caller, {lfn.parent(hit) for hit in hits})
        return sorted(hit for hit in hits if lfn.parent(hit) not in denied)

    def _joined(self, conditions: Sequence[Condition], root: int | None) -> tuple[Any, list[ColumnElement[bool]]]:
        """FC_Files joined with one value table per condition (directory fields through the closure),
        and the WHERE clauses."""
        f = FC_Files
        joined: Any = f
        where: list[ColumnElement[bool]] = []
        for index, cond in enumerate(conditions):
            kind, meta_type = self.field(cond.field)
            values = [coerce(cond.field, meta_type, value) for value in cond.values]
            table = meta_value_table(cond.field, meta_type, file_meta=kind == FILE).alias(f"m{index}")
            if kind == FILE:
                joined = joined.join(table, table.c.FileID == f.c.FileID)
            else:
                tree = FC_DirectoryClosure.alias(f"t{index}")
                joined = joined.join(tree, tree.c.ChildID == f.c.DirID).join(table, table.c.DirID == tree.c.ParentID)
            where.append(_clause(table.c.Value, cond.op, values))
        if root is not None:
            scope = FC_DirectoryClosure.alias("scope")
            joined = joined.join(scope, scope.c.ChildID == f.c.DirID)
            where.append(scope.c.ParentID == root)
        return joined, where

    def _eval(self, conn: Connection, node: Node, root: int | None) -> set[int]:
        conditions = _conjunction(node)
        if conditions is not None:
            joined, where = self._joined(conditions, root)
            return {int(row[0]) for row in conn.execute(select(FC_Files.c.FileID).select_from(joined).where(*where))}
        assert isinstance(node, BoolOp)
        result = self._eval(conn, node.items[0], root)
        for item in node.items[1:]:
            if node.op == "AND":
                if not result:
                    return result
                result &= self._eval(conn, item, root)
            else:
                result |= self._eval(conn, item, root)
        return result

    def _names(self, conn: Connection, file_ids: list[int]) -> list[str]:
        f, d = FC_Files, FC_DirectoryList
        out: list[str] = []
        for part in chunks(file_ids, self.store.chunk):
            query = select(d.c.Name, f.c.FileName).join(d, d.c.DirID == f.c.DirID).where(f.c.FileID.in_(part))
            out.extend(lfn.child_prefix(head) + name for head, name in conn.execute(query))
        return out
