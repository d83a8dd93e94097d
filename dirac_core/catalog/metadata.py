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

from sqlalchemy import Connection

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.permissions import WRITE, allowed, is_admin
from dirac_core.catalog.query import BoolOp, Condition, Node, QueryLimits, as_query
from dirac_core.catalog.store import NO_SUCH, CatalogStore
from dirac_core.db import filecatalog_metadata as db
from dirac_core.db.filecatalog_metadata import MetaCondition
from dirac_core.db.filecatalogdb import check_meta_name, normalize_meta_type
from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound

DIR, FILE = "-d", "-f"  # DIRAC's metaType flags of addMetadataField


class _Taken(Exception):
    """The field name was added meanwhile (leaves the transaction, which rolls back)."""


class _NameTaken(Exception):
    def __init__(self, field: tuple[str, str, str]) -> None:
        super().__init__(field[1])
        self.field = field


def _same_name_in(conn: Connection, name: str, besides: tuple[str, str] | None = None) -> tuple[str, str, str] | None:
    """(kind, name, type) of the field other than `besides` whose name equals `name` up to case, if any."""
    found = db.field_named_like(conn, name, None if besides is None else (besides[0] == FILE, besides[1]))
    if found is None:
        return None
    file_meta, known, meta_type = found
    return FILE if file_meta else DIR, known, meta_type


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
                cache = {DIR: db.fields(conn, file_meta=False), FILE: db.fields(conn, file_meta=True)}
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
        check_meta_name(name)  # before anything changes
        existing = self._same_name(name)
        if existing is None:
            db.create_value_table(self.store.engine, name, normalized, file_meta=kind == FILE)
            try:
                # Insert, then look for another name equal up to case, in one transaction: the insert holds
                # the write lock (SQLite) so a concurrent add waits, and a clash rolls this one back.
                with self.store.engine.begin() as conn:
                    if not db.insert_field(conn, name, normalized, file_meta=kind == FILE):
                        raise _Taken
                    clash = _same_name_in(conn, name, besides=(kind, name))
                    if clash is not None:
                        raise _NameTaken(clash)
            except _NameTaken as taken:
                existing = taken.field
            except _Taken:  # added concurrently under this name (MariaDB: or one equal up to case)
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
        with self.store.engine.begin() as conn:
            db.delete_field(conn, name, file_meta=kind == FILE)
            twin = _same_name_in(conn, name)
        # A twin equal up to case can only predate the clash check, on SQLite, where both names are one table.
        if twin is None or twin[0] != kind:
            db.drop_value_table(self.store.engine, name, meta_type, file_meta=kind == FILE)
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
            typed: dict[str, tuple[str, Any]] = {}
            for name, value in values.items():
                field_kind, meta_type = self.field(str(name))
                if field_kind != kind:
                    where = "directories" if field_kind == DIR else "files"
                    raise BadRequest(f"metadata field {name!r} is set on {where}, and {path} is not one")
                check_meta_name(str(name))
                typed[str(name)] = (meta_type, coerce(str(name), meta_type, value))
            for name, (meta_type, value) in typed.items():
                if kind == DIR:
                    self._check_single_definition(conn, name, meta_type, target, path)
                db.set_value(conn, name, meta_type, file_meta=kind == FILE, target=target, value=value)
        self.store.record("setMetadata", caller, "", 1, 0, 1, 0)

    def _check_single_definition(self, conn: Connection, name: str, meta_type: str, dir_id: int, path: str) -> None:
        clash = db.set_along_path(conn, name, meta_type, dir_id)
        if clash is not None:
            raise Conflict(
                f"metadata conflict: {name} is already set on {clash}, which is inside or above {path}: "
                "a directory field is set once along a path"
            )

    def remove(self, caller: Caller, path: str, names: Sequence[str]) -> None:
        """removeMetadata: unset fields of a directory or file."""
        path = lfn.check_path(path)
        with self.store.engine.begin() as conn:
            kind, target = self._target(conn, caller, path)
            for name in names:
                field_kind, meta_type = self.field(str(name))
                if field_kind == kind:
                    db.unset_value(conn, str(name), meta_type, file_meta=kind == FILE, target=target)

    def get(self, caller: Caller, path: str) -> dict[str, Any]:
        """getDirectoryUserMetadata / getFileUserMetadata: own values plus those inherited from directories.

        Needs read access to the directory (of the file)."""
        path = lfn.check_path(path)
        known = self.fields()
        result: dict[str, Any] = {}
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
                row = db.inherited_value(conn, name, meta_type, dir_id)
                if row is not None:
                    result[name] = row[0]
            if file_id is not None:
                for name, meta_type in known["FileMetaFields"].items():
                    row = db.file_value(conn, name, meta_type, file_id)
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
                rows = db.matching_names(conn, self._typed(conditions), root)
            else:
                rows = db.file_names(conn, sorted(self._eval(conn, node, root)), self.store.chunk)
            hits = [lfn.child_prefix(head) + name for head, name in rows]
            denied = self.store.read_denied(conn, caller, {lfn.parent(hit) for hit in hits})
        return sorted(hit for hit in hits if lfn.parent(hit) not in denied)

    def _typed(self, conditions: Sequence[Condition]) -> list[MetaCondition]:
        """The conditions with each field's kind and type, and values of that type (BadRequest otherwise)."""
        typed: list[MetaCondition] = []
        for cond in conditions:
            kind, meta_type = self.field(cond.field)
            values = [coerce(cond.field, meta_type, value) for value in cond.values]
            check_meta_name(cond.field)
            typed.append(MetaCondition(cond.field, meta_type, kind == FILE, cond.op, values))
        return typed

    def _eval(self, conn: Connection, node: Node, root: int | None) -> set[int]:
        conditions = _conjunction(node)
        if conditions is not None:
            return db.matching_ids(conn, self._typed(conditions), root)
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
