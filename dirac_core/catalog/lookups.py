"""DIRAC's smaller catalog reads: getFileSize, getReplicaStatus, getLFNForGUID, getDirectoryMetadata,
getCatalogCounters. Same reply shapes and failure texts as DIRAC's FileCatalogDB; reads need the read
bit of the directory (as every other read here), counters need FileCatalogManagement (as in DIRAC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.directories import Directories
from dirac_core.catalog.files import Files
from dirac_core.catalog.permissions import is_admin
from dirac_core.catalog.store import NO_SUCH, CatalogStore, Result, all_failed_forbidden, bulk
from dirac_core.db import filecatalog_dirs as dirs
from dirac_core.db import filecatalog_files as files_db
from dirac_core.errors import BadRequest, Forbidden

NO_REPLICA_AT_SE = "No replica at supplied site"  # DIRAC's FileManagerBase text
NO_GUID = "GUID does not exist"


class Lookups:
    def __init__(self, store: CatalogStore, directories: Directories, files: Files) -> None:
        self.store = store
        self.directories = directories
        self.files = files

    def file_sizes(self, caller: Caller, lfns: Iterable[str]) -> Result:
        """getFileSize: ``{"Successful": {lfn: size}, "Failed": {lfn: reason}}``."""
        found = self.files.metadata(caller, lfns)
        return bulk({raw: meta["Size"] for raw, meta in found["Successful"].items()}, found["Failed"])

    def replica_status(self, caller: Caller, replicas: Mapping[str, Any]) -> Result:
        """getReplicaStatus ``{lfn: SE}``: ``{"Successful": {lfn: status of the replica at SE}}``."""
        self.store.check_bulk(len(replicas), "replicas")
        good, failed = lfn.check_many(list(replicas))
        wanted_se: dict[str, str] = {}
        for raw in list(good):
            se = replicas[raw]
            if not isinstance(se, str) or not se:
                failed[raw] = f"give the SE name for {raw}, e.g. {{lfn: 'SE-NAME'}}"
                del good[raw]
            else:
                wanted_se[raw] = se
        successful: dict[str, str] = {}
        with self.store.engine.connect() as conn:
            denied = self.store.read_denied(conn, caller, {lfn.parent(path) for path in good.values()})
            found = self.store.find_files(conn, [p for p in good.values() if lfn.parent(p) not in denied])
            statuses: dict[int, dict[str, str]] = {}
            ids = [row.file_id for row in found.values()]
            for file_id, se_id, status in files_db.replica_statuses(conn, ids, self.store.chunk):
                statuses.setdefault(file_id, {})[self.store.se_name(se_id)] = status
        for raw, path in good.items():
            if lfn.parent(path) in denied:
                failed[raw] = denied[lfn.parent(path)]
            elif path not in found:
                failed[raw] = NO_SUCH
            elif wanted_se[raw] not in statuses.get(found[path].file_id, {}):
                failed[raw] = NO_REPLICA_AT_SE
            else:
                successful[raw] = statuses[found[path].file_id][wanted_se[raw]]
        if denied and all_failed_forbidden(failed, len(replicas)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def lfns_for_guids(self, caller: Caller, guids: Iterable[str]) -> Result:
        """getLFNForGUID: ``{"Successful": {guid: lfn}, "Failed": {guid: "GUID does not exist"}}``."""
        wanted = list(dict.fromkeys(guids))
        self.store.check_bulk(len(wanted), "GUIDs")
        for guid in wanted:
            if not isinstance(guid, str) or not guid:
                raise BadRequest(f"GUID {guid!r} is not a non-empty string: give GUIDs as text")
        by_guid: dict[str, str] = {}
        with self.store.engine.connect() as conn:
            for guid, directory, name in files_db.names_by_guid(conn, wanted, self.store.chunk):
                by_guid[guid] = lfn.child_prefix(directory) + name
            denied = self.store.read_denied(conn, caller, {lfn.parent(path) for path in by_guid.values()})
        successful = {guid: path for guid, path in by_guid.items() if lfn.parent(path) not in denied}
        failed = {guid: NO_GUID for guid in wanted if guid not in by_guid}
        failed.update({guid: denied[lfn.parent(path)] for guid, path in by_guid.items() if guid not in successful})
        return bulk(successful, failed)

    def directory_parameters(self, caller: Caller, paths: Iterable[str]) -> Result:
        """getDirectoryMetadata: DirID, Owner, OwnerGroup, Mode, dates per directory (DIRAC's
        getDirectoryParameters); a missing directory fails with "Directory not found"."""
        items = list(paths)
        self.store.check_bulk(len(items), "directories")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        with self.store.engine.connect() as conn:
            denied = self.store.read_denied(conn, caller, good.values())
            rows = dirs.directories_named(conn, good.values())
            for raw, path in good.items():
                if path in denied:
                    failed[raw] = denied[path]
                elif path not in rows:
                    failed[raw] = "Directory not found"
                else:
                    successful[raw] = {**self.directories.dir_metadata(rows[path]), "Status": 0}
        if denied and all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def counters(self, caller: Caller) -> dict[str, int]:
        """getCatalogCounters: numbers of files, replicas and directories (catalog administrators only)."""
        if not is_admin(caller):
            raise Forbidden(
                f"Permission denied: getCatalogCounters needs FileCatalogManagement; {caller.username} lacks it"
            )
        with self.store.engine.connect() as conn:
            return files_db.counters(conn)
