"""DIRAC's smaller catalog reads: getFileSize, getReplicaStatus, getLFNForGUID, getDirectoryMetadata,
getCatalogCounters. Same reply shapes and failure texts as DIRAC's FileCatalogDB; reads need the read
bit of the directory (as every other read here), counters need FileCatalogManagement (as in DIRAC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.directories import Directories
from dirac_core.catalog.files import Files
from dirac_core.catalog.permissions import is_admin
from dirac_core.catalog.store import NO_SUCH, CatalogStore, Result, all_failed_forbidden, bulk, chunks
from dirac_core.db.filecatalogdb import FC_DirectoryList, FC_FileInfo, FC_Files, FC_Replicas
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
            for part in chunks(ids, self.store.chunk):
                query = select(FC_Replicas.c.FileID, FC_Replicas.c.SEID, FC_Replicas.c.Status)
                for file_id, se_id, status in conn.execute(query.where(FC_Replicas.c.FileID.in_(part))):
                    statuses.setdefault(int(file_id), {})[self.store.se_name(int(se_id))] = str(status)
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
        f, i, d = FC_Files, FC_FileInfo, FC_DirectoryList
        by_guid: dict[str, str] = {}
        with self.store.engine.connect() as conn:
            for part in chunks(wanted, self.store.chunk):
                query = (
                    select(i.c.GUID, d.c.Name, f.c.FileName)
                    .join(f, f.c.FileID == i.c.FileID)
                    .join(d, d.c.DirID == f.c.DirID)
                    .where(i.c.GUID.in_(part))
                )
                for guid, directory, name in conn.execute(query):
                    by_guid[str(guid)] = lfn.child_prefix(str(directory)) + str(name)
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
        d = FC_DirectoryList
        columns = (d.c.DirID, d.c.Name, d.c.UID, d.c.GID, d.c.Mode, d.c.CreationDate, d.c.ModificationDate)
        with self.store.engine.connect() as conn:
            denied = self.store.read_denied(conn, caller, good.values())
            rows = {str(row[1]): row for row in conn.execute(select(*columns).where(d.c.Name.in_(good.values())))}
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
        f, r, i, d = FC_Files, FC_Replicas, FC_FileInfo, FC_DirectoryList

        def count(query: Any) -> int:
            return int(conn.execute(query).scalar_one())

        with self.store.engine.connect() as conn:
            return {
                "Files": count(select(func.count()).select_from(f)),
                "Files w/o Replicas": count(
                    select(func.count()).select_from(f).where(~f.c.FileID.in_(select(r.c.FileID)))
                ),
                "Files w/o FileInfo": count(
                    select(func.count()).select_from(f).where(~f.c.FileID.in_(select(i.c.FileID)))
                ),
                "Replicas": count(select(func.count()).select_from(r)),
                "Replicas w/o Files": count(
                    select(func.count()).select_from(r).where(~r.c.FileID.in_(select(f.c.FileID)))
                ),
                "Directories": count(select(func.count()).select_from(d)),
            }
