"""FileCatalogDB's shared rows: the engine, id caches and the set-based lookups every catalog operation uses.

Caches (per process, thread-safe): directory path -> DirID, SE name <-> SEID, user/group name <-> id.
Directory ids only change when a directory is removed, which drops it from the cache of this process;
a catalog is served by one process per instance (see docs/catalog.md).

Paths here are the normalised directory names stored in ``FC_DirectoryList.Name``; the path rules
(validation, splitting) and the permission checks live in `dirac_core.catalog`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, literal, select
from sqlalchemy.exc import IntegrityError

from dirac_core.db.filecatalog_queries import chunks
from dirac_core.db.filecatalogdb import (
    FC_DirectoryClosure,
    FC_DirectoryList,
    FC_Groups,
    FC_StorageElements,
    FC_Users,
)
from dirac_core.db.types import utcnow

MAX_PFN = 1024  # FC_Replicas.PFN
MAX_SE_NAME = 127  # FC_StorageElements.SEName
DIR_CACHE_LIMIT = 1_000_000


@dataclass(frozen=True)
class DirRow:
    dir_id: int
    name: str
    uid: int
    gid: int
    mode: int


class FileCatalogStore:
    def __init__(self, engine: Engine) -> None:
        self.is_mysql = engine.dialect.name in {"mysql", "mariadb"}
        # READ COMMITTED on MariaDB: after a duplicate-key error (a concurrent request created the same
        # directory, user or LFN) the re-read sees the winner's committed row.
        self.engine = engine.execution_options(isolation_level="READ COMMITTED") if self.is_mysql else engine
        # SQLite caps bound parameters per statement; MariaDB gains from big IN lists.
        self.chunk = 5000 if self.is_mysql else 900
        self._lock = threading.Lock()
        self._dir_ids: dict[str, int] = {}
        self._se_ids: dict[str, int] = {}
        self._se_names: dict[int, str] = {}
        self._names: dict[str, dict[Any, Any]] = {"uid": {}, "user": {0: "root"}, "gid": {}, "group": {0: "root"}}

    # ------------------------------------------------------------------------------- users, groups, SEs
    def _named_id(
        self, kind: str, table: Any, id_col: str, name_col: str, name: str, conn: Connection | None = None
    ) -> int:
        """The id of a user or group name, created when new. Inside a request's write transaction pass
        its `conn`: a second connection would wait for that transaction's own write lock on SQLite."""
        cache = self._names["uid" if kind == "user" else "gid"]
        found = cache.get(name)
        if found is not None:
            return int(found)
        if conn is not None:  # not cached: the row is only there if the request's transaction commits
            return self._find_or_insert_name(conn, table, id_col, name_col, name)
        with self.engine.begin() as own:
            ident = self._find_or_insert_name(own, table, id_col, name_col, name)
        with self._lock:
            cache[name] = ident
            self._names[kind][ident] = name
        return ident

    @staticmethod
    def _find_or_insert_name(conn: Connection, table: Any, id_col: str, name_col: str, name: str) -> int:
        row = conn.execute(select(table.c[id_col]).where(table.c[name_col] == name)).first()
        if row is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(table).values({name_col: name}))
            except IntegrityError:
                pass  # created meanwhile by another request
            row = conn.execute(select(table.c[id_col]).where(table.c[name_col] == name)).one()
        return int(row[0])

    def uid(self, name: str, conn: Connection | None = None) -> int:
        return self._named_id("user", FC_Users, "UID", "UserName", name, conn)

    def gid(self, name: str, conn: Connection | None = None) -> int:
        return self._named_id("group", FC_Groups, "GID", "GroupName", name, conn)

    def user_name(self, uid: int) -> str:
        return self._name_of("user", uid)

    def group_name(self, gid: int) -> str:
        return self._name_of("group", gid)

    def _name_of(self, kind: str, ident: int) -> str:
        names = self._names[kind]
        if ident not in names:
            table, id_col, name_col = (
                (FC_Users, "UID", "UserName") if kind == "user" else (FC_Groups, "GID", "GroupName")
            )
            with self.engine.connect() as conn:
                rows = conn.execute(select(table.c[id_col], table.c[name_col])).all()
            with self._lock:
                for ident_, name in rows:
                    names[int(ident_)] = name
        return str(names.get(ident, ident))

    def se_id(self, name: str) -> int:
        found = self._se_ids.get(name)
        if found is not None:
            return found
        with self.engine.begin() as conn:
            row = conn.execute(select(FC_StorageElements.c.SEID).where(FC_StorageElements.c.SEName == name)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(FC_StorageElements).values(SEName=name))
                except IntegrityError:
                    pass
                row = conn.execute(select(FC_StorageElements.c.SEID).where(FC_StorageElements.c.SEName == name)).one()
        with self._lock:
            self._se_ids[name] = int(row[0])
            self._se_names[int(row[0])] = name
        return int(row[0])

    def known_se_id(self, name: str) -> int | None:
        """SEID if the catalog has seen `name`, without creating it."""
        if name in self._se_ids:
            return self._se_ids[name]
        with self.engine.connect() as conn:
            row = conn.execute(select(FC_StorageElements.c.SEID).where(FC_StorageElements.c.SEName == name)).first()
        return None if row is None else self.se_id(name)

    def se_name(self, se_id: int) -> str:
        name = self._se_names.get(se_id)
        if name is None:
            with self.engine.connect() as conn:
                rows = conn.execute(select(FC_StorageElements.c.SEID, FC_StorageElements.c.SEName)).all()
            with self._lock:
                for ident, se in rows:
                    self._se_names[int(ident)] = se
                    self._se_ids[se] = int(ident)
            name = self._se_names.get(se_id, f"SE#{se_id}")
        return name

    # ------------------------------------------------------------------------------- directories
    def dir_rows(self, conn: Connection, paths: Iterable[str]) -> dict[str, DirRow]:
        """Directory rows of the existing `paths` (one SELECT per chunk)."""
        wanted = sorted(set(paths))
        found: dict[str, DirRow] = {}
        cols = (
            FC_DirectoryList.c.DirID,
            FC_DirectoryList.c.Name,
            FC_DirectoryList.c.UID,
            FC_DirectoryList.c.GID,
            FC_DirectoryList.c.Mode,
        )
        for part in chunks(wanted, self.chunk):
            for row in conn.execute(select(*cols).where(FC_DirectoryList.c.Name.in_(part))):
                found[row[1]] = DirRow(int(row[0]), row[1], int(row[2]), int(row[3]), int(row[4]))
        self._remember_dirs({name: row.dir_id for name, row in found.items()})
        return found

    def dir_ids(self, conn: Connection, paths: Iterable[str]) -> dict[str, int]:
        """DirID of the existing `paths`, from the cache where possible."""
        wanted = set(paths)
        known = {path: self._dir_ids[path] for path in wanted if path in self._dir_ids}
        missing = sorted(wanted - known.keys())
        for part in chunks(missing, self.chunk):
            query = select(FC_DirectoryList.c.Name, FC_DirectoryList.c.DirID).where(FC_DirectoryList.c.Name.in_(part))
            for name, dir_id in conn.execute(query):
                known[name] = int(dir_id)
        self._remember_dirs({path: known[path] for path in missing if path in known})
        return known

    def subdirectories(self, conn: Connection, dir_ids: Sequence[int]) -> set[str]:
        """Full names of the subdirectories of `dir_ids` (to refuse a file named like a directory)."""
        names: set[str] = set()
        for part in chunks(sorted(set(dir_ids)), self.chunk):
            query = select(FC_DirectoryList.c.Name).where(FC_DirectoryList.c.Parent.in_(part))
            names.update(name for (name,) in conn.execute(query))
        return names

    def _remember_dirs(self, found: dict[str, int]) -> None:
        if not found:
            return
        with self._lock:
            if len(self._dir_ids) + len(found) > DIR_CACHE_LIMIT:
                self._dir_ids.clear()
            self._dir_ids.update(found)

    def forget_dirs(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                self._dir_ids.pop(name, None)

    def _insert_dir(self, conn: Connection, path: str, parent_id: int, uid: int, gid: int, mode: int) -> int:
        now = utcnow()
        result = conn.execute(
            insert(FC_DirectoryList).values(
                Name=path, Parent=parent_id, UID=uid, GID=gid, Mode=mode, CreationDate=now, ModificationDate=now
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        dir_id = int(key[0])
        closure = FC_DirectoryClosure
        if parent_id:
            conn.execute(
                insert(closure).from_select(
                    ["ParentID", "Depth", "ChildID"],
                    select(closure.c.ParentID, closure.c.Depth + 1, dir_id_literal(dir_id)).where(
                        closure.c.ChildID == parent_id
                    ),
                )
            )
        conn.execute(insert(closure).values(ParentID=dir_id, ChildID=dir_id, Depth=0))
        return dir_id

    def ensure_root(self, conn: Connection, mode: int) -> DirRow:
        rows = self.dir_rows(conn, ["/"])
        if "/" in rows:
            return rows["/"]
        try:
            with conn.begin_nested():
                self._insert_dir(conn, "/", 0, 0, 0, mode)
        except IntegrityError:
            pass
        return self.dir_rows(conn, ["/"])["/"]

    def add_dir(self, conn: Connection, path: str, parent_id: int, uid: int, gid: int, mode: int) -> DirRow:
        """The row of the new directory `path`, or of the one a concurrent request created meanwhile."""
        try:
            with conn.begin_nested():
                dir_id = self._insert_dir(conn, path, parent_id, uid, gid, mode)
            return DirRow(dir_id, path, uid, gid, mode)
        except IntegrityError:  # created meanwhile by a concurrent request: use theirs
            return self.dir_rows(conn, [path])[path]


def dir_id_literal(dir_id: int) -> Any:
    return literal(dir_id)
