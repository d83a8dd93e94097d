"""Directories: createDirectory (always -p), listDirectory, getDirectorySize, removeDirectory, isDirectory."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.permissions import WRITE, allowed, mode_string
from dirac_core.catalog.store import NO_SUCH, ROOT_MODE, CatalogStore, Result, all_failed_forbidden, bulk
from dirac_core.db import filecatalog_dirs as dirs
from dirac_core.db.filecatalog_files import files_in_directory
from dirac_core.errors import Forbidden


def _date(value: Any) -> str:
    """DIRAC's 'YYYY-MM-DD HH:MM:SS' (UTC) text: cheap to send, and what the WMS replies carry too."""
    return "" if value is None else str(value)[:19]


class Directories:
    def __init__(self, store: CatalogStore) -> None:
        self.store = store

    def create(self, caller: Caller, paths: Iterable[str]) -> Result:
        """createDirectory: every missing level is created, owned by the caller, mode 775 & ~umask."""
        items = list(paths)
        self.store.check_bulk(len(items), "directories")
        good, failed = lfn.check_many(items)
        with self.store.engine.begin() as conn:
            existing_files = self.store.find_files(conn, good.values())
            for raw, path in list(good.items()):
                if path in existing_files:
                    failed[raw] = f"{path} exists and is a file"
                    del good[raw]
            rows, denied = self.store.make_dirs(conn, caller, good.values())
        successful = {raw: True for raw, path in good.items() if path in rows}
        failed.update({raw: denied[path] for raw, path in good.items() if path in denied})
        self.store.record("createDirectory", caller, "", len(successful), 0, len(successful), len(failed))
        if all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def is_directory(self, _caller: Caller, paths: Iterable[str]) -> Result:
        items = list(paths)
        self.store.check_bulk(len(items), "paths")
        good, failed = lfn.check_many(items)
        with self.store.engine.connect() as conn:
            found = self.store.dir_ids(conn, good.values())
        return bulk({raw: path in found for raw, path in good.items()}, failed)

    def list_dir(self, caller: Caller, paths: Iterable[str], verbose: bool = False) -> Result:
        """listDirectory: per path ``{"Files": {lfn: {"MetaData": ...}}, "SubDirs": {path: ...}, "Links": {}}``."""
        items = list(paths)
        self.store.check_bulk(len(items), "directories")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        if "/" in good.values():  # a new catalog lists an empty root rather than "no such directory"
            with self.store.engine.begin() as conn:
                self.store.ensure_root(conn, ROOT_MODE)
        with self.store.engine.connect() as conn:
            rows = self.store.dir_rows(conn, good.values())
            denied = self.store.read_denied(conn, caller, rows)
            for raw, path in good.items():
                row = rows.get(path)
                if row is None:
                    failed[raw] = f"{NO_SUCH}: directory {path}"
                elif path in denied:
                    failed[raw] = denied[path]
                else:
                    successful[raw] = self._listing(conn, row.dir_id, path)
        if denied and all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def _listing(self, conn: Any, dir_id: int, path: str) -> dict[str, Any]:
        prefix = lfn.child_prefix(path)
        subdirs: dict[str, Any] = {}
        for dir_row in dirs.subdirectories(conn, dir_id):
            subdirs[dir_row[1]] = self.dir_metadata(dir_row)
        files: dict[str, Any] = {}
        for file_row in files_in_directory(conn, dir_id):
            files[prefix + file_row[1]] = {"MetaData": self.file_metadata(file_row)}
        return {"Files": files, "SubDirs": subdirs, "Links": {}}

    def dir_metadata(self, row: Sequence[Any]) -> dict[str, Any]:
        dir_id, _name, uid, gid, mode, created, modified = row
        return {
            "DirID": int(dir_id),
            "Owner": self.store.user_name(int(uid)),
            "OwnerGroup": self.store.group_name(int(gid)),
            "Mode": int(mode),
            "ModeString": mode_string(int(mode), True),
            "CreationDate": _date(created),
            "ModificationDate": _date(modified),
            "Type": "Directory",
        }

    def file_metadata(self, row: Sequence[Any]) -> dict[str, Any]:
        file_id, _name, size, uid, gid, status, guid, checksum, checksum_type, mode, created, modified = row
        return {
            "FileID": int(file_id),
            "Size": int(size),
            "Owner": self.store.user_name(int(uid)),
            "OwnerGroup": self.store.group_name(int(gid)),
            "Status": status,
            "GUID": guid,
            "Checksum": checksum,
            "ChecksumType": checksum_type,
            "Mode": int(mode),
            "ModeString": mode_string(int(mode), False),
            "CreationDate": _date(created),
            "ModificationDate": _date(modified),
            "Type": "File",
        }

    def size(self, caller: Caller, paths: Iterable[str]) -> Result:
        """getDirectorySize: logical files/size of the whole subtree, and per SE (PhysicalSize).

        Needs read access to the directory asked for (per item; 403 when every item is refused)."""
        items = list(paths)
        self.store.check_bulk(len(items), "directories")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        with self.store.engine.connect() as conn:
            ids = self.store.dir_ids(conn, good.values())
            denied = self.store.read_denied(conn, caller, good.values())
            for raw, path in good.items():
                if path not in ids:
                    failed[raw] = f"{NO_SUCH}: directory {path}"
                    continue
                if path in denied:
                    failed[raw] = denied[path]
                    continue
                counted = dirs.subtree_size(conn, ids[path])
                physical: dict[str, Any] = {}
                for se_id, count, se_size in counted.per_se:
                    physical[self.store.se_name(se_id)] = {"Files": count, "Size": se_size}
                successful[raw] = {
                    "LogicalFiles": counted.files,
                    "LogicalSize": counted.size,
                    "LogicalDirectories": counted.directories - 1,
                    "PhysicalSize": {
                        **physical,
                        "TotalFiles": sum(v["Files"] for v in physical.values()),
                        "TotalSize": sum(v["Size"] for v in physical.values()),
                    },
                }
        if denied and all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def remove(self, caller: Caller, paths: Iterable[str]) -> Result:
        """removeDirectory: only empty directories (no files, no subdirectories); missing ones succeed."""
        items = list(paths)
        self.store.check_bulk(len(items), "directories")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        uid, gid = self.store.caller_ids(caller)
        with self.store.engine.begin() as conn:
            rows = self.store.dir_rows(conn, [*good.values(), *(lfn.parent(p) for p in good.values())])
            for raw, path in good.items():
                row = rows.get(path)
                if row is None:
                    successful[raw] = True  # DIRAC: removing what does not exist succeeds
                    continue
                if path == "/":
                    failed[raw] = "the root directory cannot be removed"
                    continue
                parent_row = rows[lfn.parent(path)]
                if not allowed(caller, parent_row, uid, gid, WRITE):
                    failed[raw] = f"Permission denied: {caller.username} may not remove entries of {lfn.parent(path)}"
                    continue
                if not dirs.is_empty(conn, row.dir_id):
                    failed[raw] = f"directory {path} is not empty: remove its files and subdirectories first"
                    continue
                dirs.delete_directory(conn, row.dir_id)
                successful[raw] = True
        self.store.forget_dirs(good[raw] for raw in successful)
        self.store.record("removeDirectory", caller, "", len(successful), 0, len(successful), len(failed))
        if all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)
