"""Files: addFile (bulk), removeFile, getFileMetadata, isFile, exists.

A bulk call validates every item first (path, size, SE, permissions, duplicates) and writes the valid
ones in one transaction with multi-row INSERTs; a file is written whole (FC_Files + FC_FileInfo +
FC_Replicas) or not at all. If the batch insert meets a conflict (another request added the same LFN
meanwhile), it is rolled back and retried item by item, so each item still gets its own answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.directories import Directories
from dirac_core.catalog.permissions import FILE_MODE
from dirac_core.catalog.store import MAX_PFN, NO_SUCH, CatalogStore, Result, all_failed_forbidden, bulk
from dirac_core.db import filecatalog_files as files_db
from dirac_core.db.filecatalog_files import NewFile
from dirac_core.db.retry import retry_transient
from dirac_core.errors import Forbidden


class _Entry:
    __slots__ = ("checksum", "checksum_type", "guid", "path", "pfn", "se", "size")

    def __init__(self, path: str, props: Mapping[str, Any]) -> None:
        self.path = path
        self.size = props["Size"]
        self.guid = str(props.get("GUID") or "")
        self.checksum = str(props.get("Checksum") or "")
        self.checksum_type = str(props.get("ChecksumType") or "Adler32")
        self.se = props.get("SE") or ""
        self.pfn = str(props.get("PFN") or "")


def _entry(store: CatalogStore, path: str, props: object) -> _Entry | str:
    """The validated entry, or the reason it is refused."""
    if not isinstance(props, Mapping):
        return "file properties must be a dict with Size and optionally SE, PFN, GUID, Checksum"
    size = props.get("Size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 63:
        return f"Size {size!r} is not a non-negative integer (bytes, below 2**63)"
    if props.get("SE"):
        reason = store.se_check(props["SE"])
        if reason:
            return reason
    if len(str(props.get("GUID") or "")) > 36:
        return "GUID is longer than 36 characters"
    if len(str(props.get("Checksum") or "")) > 64:
        return "Checksum is longer than 64 characters"
    if len(str(props.get("ChecksumType") or "")) > 16:
        return "ChecksumType is longer than 16 characters (Adler32, MD5, ...)"
    if len(str(props.get("PFN") or "")) > MAX_PFN:
        return f"PFN is longer than {MAX_PFN} characters"
    return _Entry(path, props)


class Files:
    def __init__(self, store: CatalogStore, directories: Directories) -> None:
        self.store = store
        self.directories = directories

    # ------------------------------------------------------------------------------- addFile
    def add(self, caller: Caller, files: Mapping[str, Any]) -> Result:
        """addFile: ``{lfn: {"Size", "SE", "PFN", "GUID", "Checksum", "ChecksumType"}}``."""
        self.store.check_bulk(len(files), "files")
        good, failed = lfn.check_many(files)
        entries: dict[str, _Entry] = {}
        for raw, path in good.items():
            checked = _entry(self.store, path, files[raw])
            if isinstance(checked, str):
                failed[raw] = checked
            else:
                entries[raw] = checked
        se_ids = {name: self.store.se_id(name) for name in {e.se for e in entries.values() if e.se}}
        self.store.caller_ids(caller)  # a new caller's ids are created and cached before the transaction
        checked_failed = failed

        # One transaction, run again whole after a deadlock (InnoDB rolled all of it back).
        def register() -> tuple[dict[str, Any], dict[str, str]]:
            successful: dict[str, Any] = {}
            failed = dict(checked_failed)
            with self.store.engine.begin() as conn:
                heads = {lfn.parent(e.path) for e in entries.values()}
                rows, denied_dirs = self.store.make_dirs(conn, caller, heads)
                denied = self.store.may_write(caller, rows, (e.path for e in entries.values()), conn)
                as_dirs = self.store.subdirectories(conn, [row.dir_id for row in rows.values()])
                candidates: dict[str, _Entry] = {}
                for raw, entry in entries.items():
                    head = lfn.parent(entry.path)
                    if entry.path in as_dirs:
                        failed[raw] = f"{entry.path} exists and is a directory"
                    elif head in denied_dirs:
                        failed[raw] = denied_dirs[head]
                    elif entry.path in denied:
                        failed[raw] = denied[entry.path]
                    else:
                        candidates[raw] = entry
                # Optimistic: new LFNs are the common case, so insert first; the unique (DirID, FileName)
                # index refuses the batch if any LFN exists, and only then are existing files looked up.
                if self._insert(conn, caller, rows, list(candidates.values()), se_ids):
                    successful.update(dict.fromkeys(candidates, True))
                else:
                    new = self._without_existing(conn, candidates, successful, failed)
                    self._insert_each(conn, caller, rows, new, se_ids, successful, failed)
            return successful, failed

        successful, failed = retry_transient(register)
        self._record("addFile", caller, files, entries, successful)
        if all_failed_forbidden(failed, len(files)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def _without_existing(
        self, conn: Connection, candidates: dict[str, _Entry], successful: dict[str, Any], failed: dict[str, str]
    ) -> dict[str, _Entry]:
        """The candidates that are not registered yet; identical re-registrations succeed (DIRAC),
        different ones fail."""
        existing = self.store.find_files(conn, (e.path for e in candidates.values()))
        existing_info = files_db.guids_and_checksums(conn, [row.file_id for row in existing.values()], self.store.chunk)
        new: dict[str, _Entry] = {}
        for raw, entry in candidates.items():
            row = existing.get(entry.path)
            if row is None:
                new[raw] = entry
            elif (row.size, *existing_info.get(row.file_id, ("", ""))) == (entry.size, entry.guid, entry.checksum):
                successful[raw] = True
            else:
                failed[raw] = f"{entry.path} already exists with a different Size, GUID or Checksum"
        return new

    def _insert_each(
        self,
        conn: Connection,
        caller: Caller,
        rows: Mapping[str, Any],
        new: dict[str, _Entry],
        se_ids: dict[str, int],
        successful: dict[str, Any],
        failed: dict[str, str],
    ) -> None:
        if self._insert(conn, caller, rows, list(new.values()), se_ids):
            successful.update(dict.fromkeys(new, True))
            return
        for raw, entry in new.items():  # someone raced us: item by item, each in its savepoint
            if self._insert(conn, caller, rows, [entry], se_ids):
                successful[raw] = True
            else:
                failed[raw] = f"{entry.path} was registered concurrently by another request"

    def _insert(
        self, conn: Connection, caller: Caller, rows: Mapping[str, Any], entries: list[_Entry], se_ids: dict[str, int]
    ) -> bool:
        """True when all `entries` are registered, False (none is) when one of them exists."""
        if not entries:
            return True
        uid, gid = self.store.caller_ids(caller, conn)
        mode = FILE_MODE & ~self.store.umask(caller)
        new_files = []
        for entry in entries:
            head, name = lfn.split(entry.path)
            se_id = se_ids[entry.se] if entry.se else None
            new_files.append(
                NewFile(
                    rows[head].dir_id,
                    name,
                    entry.size,
                    entry.guid,
                    entry.checksum,
                    entry.checksum_type,
                    se_id,
                    entry.pfn,
                )
            )
        return files_db.insert_new_files(conn, new_files, uid, gid, mode, self.store.chunk)

    def _record(
        self,
        operation: str,
        caller: Caller,
        files: Mapping[str, Any],
        entries: Mapping[str, _Entry],
        successful: Mapping[str, Any],
    ) -> None:
        """One record per SE named in the request: files asked, bytes registered, ok, failed."""
        per_se: dict[str, list[int]] = {}
        for raw, props in files.items():
            se = str(props.get("SE") or "") if isinstance(props, Mapping) else ""
            counts = per_se.setdefault(se, [0, 0, 0, 0])
            counts[0] += 1
            if raw in successful:
                counts[1] += entries[raw].size
                counts[2] += 1
            else:
                counts[3] += 1
        for se, (count, size, ok, bad) in per_se.items():
            self.store.record(operation, caller, se, count, size, ok, bad)

    # ------------------------------------------------------------------------------- removeFile
    def remove(self, caller: Caller, lfns: Iterable[str]) -> Result:
        """removeFile: the file, its replicas, info and metadata; absent files succeed (DIRAC)."""
        items = list(lfns)
        self.store.check_bulk(len(items), "files")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        size = 0
        with self.store.engine.begin() as conn:
            found = self.store.find_files(conn, good.values())
            rows = self.store.dir_rows(conn, {lfn.parent(p) for p in found})
            denied = self.store.may_write(caller, rows, found, conn)
            doomed: list[int] = []
            for raw, path in good.items():
                if path in denied:
                    failed[raw] = denied[path]
                    continue
                if path in found:
                    doomed.append(found[path].file_id)
                    size += found[path].size
                successful[raw] = True
            files_db.delete_files(conn, doomed, self.store.chunk)
        self.store.record("removeFile", caller, "", len(items), size, len(successful), len(failed))
        if all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    # ------------------------------------------------------------------------------- queries
    def metadata(self, caller: Caller, lfns: Iterable[str]) -> Result:
        """getFileMetadata: Size, Checksum, GUID, Owner, OwnerGroup, Mode, Status, dates.

        Files in directories the caller may not read fail per item (403 when all of them do)."""
        items = list(lfns)
        self.store.check_bulk(len(items), "files")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        with self.store.engine.connect() as conn:
            denied = self.store.read_denied(conn, caller, {lfn.parent(path) for path in good.values()})
            for raw, path in list(good.items()):
                if lfn.parent(path) in denied:
                    failed[raw] = denied[lfn.parent(path)]
                    del good[raw]
            found = self.store.find_files(conn, good.values())
            ids = [row.file_id for row in found.values()]
            by_id = {
                int(row[0]): self.directories.file_metadata(row)
                for row in files_db.file_details(conn, ids, self.store.chunk)
            }
        for raw, path in good.items():
            if path in found and found[path].file_id in by_id:
                successful[raw] = by_id[found[path].file_id]
            else:
                failed[raw] = f"{NO_SUCH}: {path}"
        if denied and all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def is_file(self, _caller: Caller, lfns: Iterable[str]) -> Result:
        items = list(lfns)
        self.store.check_bulk(len(items), "paths")
        good, failed = lfn.check_many(items)
        with self.store.engine.connect() as conn:
            found = self.store.find_files(conn, good.values())
        return bulk({raw: path in found for raw, path in good.items()}, failed)

    def exists(self, _caller: Caller, lfns: Iterable[str]) -> Result:
        """exists: True for files and directories."""
        items = list(lfns)
        self.store.check_bulk(len(items), "paths")
        good, failed = lfn.check_many(items)
        with self.store.engine.connect() as conn:
            found = self.store.find_files(conn, good.values())
            dirs = self.store.dir_ids(conn, [p for p in good.values() if p not in found])
        return bulk({raw: path in found or path in dirs for raw, path in good.items()}, failed)
