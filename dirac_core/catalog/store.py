"""Shared state of one catalog: the engine, id caches and the set-based lookups every operation uses.

Caches (per process, thread-safe): directory path -> DirID, SE name <-> SEID, user/group name <-> id.
Directory ids only change when a directory is removed, which drops it from the cache of this process;
a catalog is served by one process per instance (see docs/catalog.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, insert, literal, select
from sqlalchemy.exc import IntegrityError

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.hooks import NullRecorder, OperationRecorder
from dirac_core.catalog.permissions import (
    DEFAULT_UMASK,
    DIR_MODE,
    READ,
    WRITE,
    Owner,
    UmaskPolicy,
    allowed,
    is_admin,
)
from dirac_core.db import filecatalog_queries as sql
from dirac_core.db.filecatalogdb import (
    FC_DirectoryClosure,
    FC_DirectoryList,
    FC_Groups,
    FC_StorageElements,
    FC_Users,
)
from dirac_core.db.types import utcnow
from dirac_core.errors import BadRequest, PayloadTooLarge

T = TypeVar("T")

DEFAULT_MAX_BULK = 100_000
ROOT_MODE = 0o755
NO_SUCH = "No such file or directory"
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

    @property
    def owner(self) -> Owner:
        return Owner(self.uid, self.gid, self.mode)


@dataclass(frozen=True)
class FileRow:
    file_id: int
    dir_id: int
    lfn: str
    size: int
    uid: int
    gid: int
    status: str


Result = dict[str, dict[str, Any]]


def bulk(successful: dict[str, Any], failed: dict[str, str]) -> Result:
    """DIRAC's bulk reply: every item is in exactly one of Successful or Failed."""
    return {"Successful": successful, "Failed": failed}


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class CatalogStore:
    def __init__(
        self,
        engine: Engine,
        *,
        known_ses: Iterable[str] | None = None,
        max_bulk: int = DEFAULT_MAX_BULK,
        umask: UmaskPolicy | None = None,
        recorder: OperationRecorder | None = None,
        global_read: bool = True,
    ) -> None:
        self.is_mysql = engine.dialect.name in {"mysql", "mariadb"}
        # READ COMMITTED on MariaDB: after a duplicate-key error (a concurrent request created the same
        # directory, user or LFN) the re-read sees the winner's committed row.
        self.engine = engine.execution_options(isolation_level="READ COMMITTED") if self.is_mysql else engine
        # SQLite caps bound parameters per statement; MariaDB gains from big IN lists.
        self.chunk = 5000 if self.is_mysql else 900
        self.known_ses = set(known_ses) if known_ses is not None else None
        self.max_bulk = max_bulk
        self.umask: UmaskPolicy = umask or (lambda _caller: DEFAULT_UMASK)
        self.recorder: OperationRecorder = recorder or NullRecorder()
        self.global_read = global_read
        self._lock = threading.Lock()
        self._dir_ids: dict[str, int] = {}
        self._se_ids: dict[str, int] = {}
        self._se_names: dict[int, str] = {}
        self._names: dict[str, dict[Any, Any]] = {"uid": {}, "user": {0: "root"}, "gid": {}, "group": {0: "root"}}

    # ------------------------------------------------------------------------------- requests
    def check_bulk(self, count: int, what: str = "entries") -> None:
        if count > self.max_bulk:
            raise PayloadTooLarge(
                f"{count} {what} in one request exceed the limit of {self.max_bulk} (MaxBulkSize): "
                "split the request into smaller batches"
            )
        if count == 0:
            raise BadRequest(f"no {what} given: pass at least one LFN")

    def record(self, operation: str, caller: Caller, se: str, files: int, size: int, ok: int, failed: int) -> None:
        self.recorder.record(operation, caller.username, caller.group, se, files, size, ok, failed)

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

    def caller_ids(self, caller: Caller, conn: Connection | None = None) -> tuple[int, int]:
        return self.uid(caller.username, conn), self.gid(caller.group, conn)

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

    def se_check(self, name: object) -> str | None:
        """None when `name` is a usable SE, else the per-item failure reason."""
        if not isinstance(name, str) or not name:
            return f"storage element {name!r} is not a name: give the SE name from /Resources/StorageElements"
        if len(name) > MAX_SE_NAME:
            return f"storage element name {name[:30]!r}... is longer than {MAX_SE_NAME} characters"
        if self.known_ses is not None and name not in self.known_ses:
            return f"unknown storage element {name!r}: it is not defined in /Resources/StorageElements"
        return None

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

    def ensure_root(self, conn: Connection) -> DirRow:
        rows = self.dir_rows(conn, ["/"])
        if "/" in rows:
            return rows["/"]
        try:
            with conn.begin_nested():
                self._insert_dir(conn, "/", 0, 0, 0, ROOT_MODE)
        except IntegrityError:
            pass
        return self.dir_rows(conn, ["/"])["/"]

    def make_dirs(
        self, conn: Connection, caller: Caller, wanted: Iterable[str]
    ) -> tuple[dict[str, DirRow], dict[str, str]]:
        """mkdir -p for every path in `wanted` (inside the caller's transaction).

        Returns (rows of every wanted path that now exists, failed path -> reason). A missing directory
        is created only when the caller may write in its nearest existing ancestor.
        """
        wanted = set(wanted)
        every = set(wanted)
        for path in wanted:
            every.update(lfn.ancestors(path))
        rows = self.dir_rows(conn, every)
        if "/" not in rows:
            rows["/"] = self.ensure_root(conn)
        failed: dict[str, str] = {}
        missing = sorted((p for p in every if p not in rows), key=lambda p: (p.count("/"), p))
        if missing:
            uid, gid = self.caller_ids(caller, conn)
            mode = DIR_MODE & ~self.umask(caller)
            # A missing directory whose path is a file cannot be made, nor anything below it (DIRAC's DFC).
            denied = {path: f"{path} exists and is a file" for path in self.find_files(conn, missing)}
            for path in missing:
                parent_path = lfn.parent(path)
                if path in denied:
                    continue
                if parent_path in denied:
                    denied[path] = denied[parent_path]
                    continue
                parent_row = rows.get(parent_path)
                if parent_row is None:  # pragma: no cover - parents sort before children
                    denied[path] = f"parent directory {parent_path} is missing"
                    continue
                if not allowed(caller, parent_row.owner, uid, gid, WRITE):
                    denied[path] = f"Permission denied: {caller.username} may not create directories in {parent_path}"
                    continue
                try:
                    with conn.begin_nested():
                        dir_id = self._insert_dir(conn, path, parent_row.dir_id, uid, gid, mode)
                    rows[path] = DirRow(dir_id, path, uid, gid, mode)
                except IntegrityError:  # created meanwhile by a concurrent request: use theirs
                    rows[path] = self.dir_rows(conn, [path])[path]
            failed = {path: denied[path] for path in wanted if path in denied}
        return {path: rows[path] for path in wanted if path in rows}, failed

    # ------------------------------------------------------------------------------- files
    def find_files(self, conn: Connection, lfns: Iterable[str]) -> dict[str, FileRow]:
        """Rows of the existing files among `lfns` (normalised paths): one exact SELECT per batch."""
        by_dir: dict[str, list[str]] = {}
        for path in set(lfns):
            head, name = lfn.split(path)
            by_dir.setdefault(head, []).append(name)
        dir_ids = self.dir_ids(conn, by_dir)
        heads = {dir_ids[head]: head for head in by_dir if head in dir_ids}
        names_by_id = {dir_id: by_dir[head] for dir_id, head in heads.items()}
        found: dict[str, FileRow] = {}
        query = "SELECT f.FileID, f.DirID, f.FileName, f.Size, f.UID, f.GID, f.Status FROM FC_Files f WHERE "
        for where, params in sql.per_directory(conn, names_by_id, self.chunk):
            for file_id, dir_id, name, size, uid, gid, status in sql.rows(conn, query + where, params):
                path = lfn.child_prefix(heads[dir_id]) + name
                found[path] = FileRow(int(file_id), int(dir_id), path, int(size), int(uid), int(gid), status)
        return found

    def read_denied(self, conn: Connection, caller: Caller, directories: Iterable[str]) -> dict[str, str]:
        """directory -> reason, for each existing directory of `directories` the caller may not read.

        Reading an entry (listing, replicas, metadata, sizes, query hits) needs the read bit of its
        directory. Empty with GlobalReadAccess (DIRAC's default) or for catalog administrators, without
        touching the DB, so the hot read paths pay nothing for it.
        """
        if self.global_read or is_admin(caller):
            return {}
        rows = self.dir_rows(conn, directories)
        if not rows:
            return {}
        uid, gid = self.caller_ids(caller)
        return {
            path: f"Permission denied: {caller.username} may not read {path}"
            for path, row in rows.items()
            if not allowed(caller, row.owner, uid, gid, READ)
        }

    def may_write(
        self, caller: Caller, rows: dict[str, DirRow], paths: Iterable[str], conn: Connection | None = None
    ) -> dict[str, str]:
        """path -> reason for every path whose directory (in `rows`) the caller may not write."""
        if is_admin(caller):
            return {}
        uid, gid = self.caller_ids(caller, conn)
        denied: dict[str, str] = {}
        for path in paths:
            head = lfn.parent(path)
            row = rows.get(head)
            if row is not None and not allowed(caller, row.owner, uid, gid, WRITE):
                denied[path] = f"Permission denied: {caller.username} may not write in {head}"
        return denied


def dir_id_literal(dir_id: int) -> Any:
    return literal(dir_id)


def all_failed_forbidden(failed: dict[str, str], total: int) -> bool:
    """True when every item of a request failed on permissions (the request becomes a 403)."""
    return total > 0 and len(failed) == total and all(r.startswith("Permission denied") for r in failed.values())
