"""The catalog's view of one FileCatalogDB: request limits, permissions and path rules over the typed
lookups of `dirac_core.db.filecatalog_store`, which holds the SQL and the id caches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.hooks import NullRecorder, OperationRecorder
from dirac_core.catalog.permissions import DEFAULT_UMASK, DIR_MODE, READ, WRITE, UmaskPolicy, allowed, is_admin
from dirac_core.db.filecatalog_files import file_rows_of
from dirac_core.db.filecatalog_queries import chunks
from dirac_core.db.filecatalog_store import MAX_PFN, MAX_SE_NAME, DirRow, FileCatalogStore
from dirac_core.errors import BadRequest, PayloadTooLarge

DEFAULT_MAX_BULK = 100_000
ROOT_MODE = 0o755
NO_SUCH = "No such file or directory"

__all__ = [
    "DEFAULT_MAX_BULK",
    "MAX_PFN",
    "NO_SUCH",
    "CatalogStore",
    "DirRow",
    "FileRow",
    "Result",
    "all_failed_forbidden",
    "bulk",
    "chunks",
]


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


class CatalogStore(FileCatalogStore):
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
        super().__init__(engine)
        self.known_ses = set(known_ses) if known_ses is not None else None
        self.max_bulk = max_bulk
        self.umask: UmaskPolicy = umask or (lambda _caller: DEFAULT_UMASK)
        self.recorder: OperationRecorder = recorder or NullRecorder()
        self.global_read = global_read

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

    def caller_ids(self, caller: Caller, conn: Connection | None = None) -> tuple[int, int]:
        return self.uid(caller.username, conn), self.gid(caller.group, conn)

    def se_check(self, name: object) -> str | None:
        """None when `name` is a usable SE, else the per-item failure reason."""
        if not isinstance(name, str) or not name:
            return f"storage element {name!r} is not a name: give the SE name from /Resources/StorageElements"
        if len(name) > MAX_SE_NAME:
            return f"storage element name {name[:30]!r}... is longer than {MAX_SE_NAME} characters"
        if self.known_ses is not None and name not in self.known_ses:
            return f"unknown storage element {name!r}: it is not defined in /Resources/StorageElements"
        return None

    # ------------------------------------------------------------------------------- directories
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
            rows["/"] = self.ensure_root(conn, ROOT_MODE)
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
                if not allowed(caller, parent_row, uid, gid, WRITE):
                    denied[path] = f"Permission denied: {caller.username} may not create directories in {parent_path}"
                    continue
                rows[path] = self.add_dir(conn, path, parent_row.dir_id, uid, gid, mode)
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
        for file_id, dir_id, name, size, uid, gid, status in file_rows_of(conn, names_by_id, self.chunk):
            path = lfn.child_prefix(heads[dir_id]) + name
            found[path] = FileRow(file_id, dir_id, path, size, uid, gid, status)
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
            if not allowed(caller, row, uid, gid, READ)
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
            if row is not None and not allowed(caller, row, uid, gid, WRITE):
                denied[path] = f"Permission denied: {caller.username} may not write in {head}"
        return denied


def all_failed_forbidden(failed: dict[str, str], total: int) -> bool:
    """True when every item of a request failed on permissions (the request becomes a 403)."""
    return total > 0 and len(failed) == total and all(r.startswith("Permission denied") for r in failed.values())
