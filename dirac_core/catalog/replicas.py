"""Replicas: getReplicas (the hot read path), addReplica, removeReplica.

getReplicas resolves directory ids from the cache, then runs one SELECT per chunk of LFNs joining
FC_Files and FC_Replicas (SE names come from the SEID cache): no per-file round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.store import MAX_PFN, NO_SUCH, CatalogStore, Result, all_failed_forbidden, bulk
from dirac_core.db import filecatalog_files as files_db
from dirac_core.db.filecatalogdb import DEFAULT_STATUS
from dirac_core.errors import Forbidden

VISIBLE = frozenset({DEFAULT_STATUS, "Trash"})


class Replicas:
    def __init__(self, store: CatalogStore) -> None:
        self.store = store

    def get(self, caller: Caller, lfns: Iterable[str], all_status: bool = False) -> Result:
        """getReplicas: ``{"Successful": {lfn: {SE: PFN}}, "Failed": {lfn: reason}}``.

        LFNs in directories the caller may not read fail per item (403 when all of them do)."""
        items = list(lfns)
        self.store.check_bulk(len(items), "LFNs")
        good, failed = lfn.check_many(items)
        by_dir: dict[str, dict[str, str]] = {}  # head -> name -> normalised path
        for path in good.values():
            head, _, name = path.rpartition("/")
            by_dir.setdefault(head or "/", {})[name] = path
        found: dict[str, dict[str, str]] = {}
        se_name = self.store.se_name
        with self.store.engine.connect() as conn:
            denied = self.store.read_denied(conn, caller, by_dir)
            for head in denied:
                del by_dir[head]
            dir_ids = self.store.dir_ids(conn, by_dir)
            names_of = {dir_ids[head]: by_dir[head] for head in by_dir if head in dir_ids}
            lists = {dir_id: list(names) for dir_id, names in names_of.items()}
            for dir_id, name, se_id, pfn, status in files_db.replicas_by_name(conn, lists, self.store.chunk):
                replicas = found.setdefault(names_of[dir_id][name], {})
                if se_id is not None and (all_status or status in VISIBLE):
                    replicas[se_name(se_id)] = str(pfn)
        successful: dict[str, Any] = {}
        for raw, path in good.items():
            if path in found:
                successful[raw] = found[path]
            else:
                failed[raw] = denied.get(lfn.parent(path), NO_SUCH)
        if denied and all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def add(self, caller: Caller, replicas: Mapping[str, Any]) -> Result:
        """addReplica: ``{lfn: {"SE": name, "PFN": url}}``; an existing replica on that SE succeeds."""
        self.store.check_bulk(len(replicas), "replicas")
        good, failed = lfn.check_many(replicas)
        wanted: dict[str, tuple[str, str, str]] = {}  # raw -> (path, se, pfn)
        for raw, path in good.items():
            props = replicas[raw]
            if not isinstance(props, Mapping):
                failed[raw] = "replica properties must be a dict with SE and optionally PFN"
                continue
            reason = self.store.se_check(props.get("SE"))
            if reason:
                failed[raw] = reason
                continue
            pfn = str(props.get("PFN") or "")
            if len(pfn) > MAX_PFN:
                failed[raw] = f"PFN is longer than {MAX_PFN} characters"
                continue
            wanted[raw] = (path, str(props["SE"]), pfn)
        se_ids = {se: self.store.se_id(se) for _path, se, _pfn in wanted.values()}
        successful: dict[str, Any] = {}
        size_per_se: dict[str, int] = {}
        with self.store.engine.begin() as conn:
            found = self.store.find_files(conn, (path for path, _se, _pfn in wanted.values()))
            rows = self.store.dir_rows(conn, {lfn.parent(p) for p in found})
            denied = self.store.may_write(caller, rows, found, conn)
            todo: dict[str, tuple[int, int, str]] = {}  # raw -> (FileID, SEID, PFN)
            for raw, (path, se, pfn) in wanted.items():
                if path not in found:
                    failed[raw] = f"{NO_SUCH}: {path}"
                elif path in denied:
                    failed[raw] = denied[path]
                else:
                    todo[raw] = (found[path].file_id, se_ids[se], pfn)
            files_db.insert_replicas(conn, list(todo.values()), self.store.chunk)
            successful.update(dict.fromkeys(todo, True))
            for raw in todo:
                path, se, _pfn = wanted[raw]
                size_per_se[se] = size_per_se.get(se, 0) + found[path].size
        self._record("addReplica", caller, wanted, successful, failed, size_per_se)
        if all_failed_forbidden(failed, len(replicas)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def remove(self, caller: Caller, replicas: Mapping[str, Any]) -> Result:
        """removeReplica: ``{lfn: {"SE": name}}``; a replica (or file) that is not there succeeds."""
        self.store.check_bulk(len(replicas), "replicas")
        good, failed = lfn.check_many(replicas)
        wanted: dict[str, tuple[str, str]] = {}
        for raw, path in good.items():
            props = replicas[raw]
            se = props.get("SE") if isinstance(props, Mapping) else props
            reason = self.store.se_check(se)
            if reason:
                failed[raw] = reason
            else:
                wanted[raw] = (path, str(se))
        successful: dict[str, Any] = {}
        size_per_se: dict[str, int] = {}
        with self.store.engine.begin() as conn:
            found = self.store.find_files(conn, (path for path, _se in wanted.values()))
            rows = self.store.dir_rows(conn, {lfn.parent(p) for p in found})
            denied = self.store.may_write(caller, rows, found, conn)
            doomed: list[tuple[int, int]] = []
            for raw, (path, se) in wanted.items():
                if path in denied:
                    failed[raw] = denied[path]
                    continue
                se_id = self.store.known_se_id(se)
                if path in found and se_id is not None:
                    doomed.append((found[path].file_id, se_id))
                    size_per_se[se] = size_per_se.get(se, 0) + found[path].size
                successful[raw] = True
            files_db.delete_replicas(conn, doomed, self.store.chunk)
        self._record(
            "removeReplica", caller, {k: (v[0], v[1], "") for k, v in wanted.items()}, successful, failed, size_per_se
        )
        if all_failed_forbidden(failed, len(replicas)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def _record(
        self,
        operation: str,
        caller: Caller,
        wanted: Mapping[str, tuple[str, str, str]],
        successful: Mapping[str, Any],
        failed: Mapping[str, str],
        size_per_se: Mapping[str, int],
    ) -> None:
        per_se: dict[str, list[int]] = {}
        for raw, (_path, se, _pfn) in wanted.items():
            counts = per_se.setdefault(se, [0, 0, 0])
            counts[0] += 1
            counts[1 if raw in successful else 2] += 1
        for se, (files, ok, bad) in per_se.items():
            self.store.record(operation, caller, se, files, size_per_se.get(se, 0), ok, bad)
        unattributed = len(failed) - sum(c[2] for c in per_se.values())
        if unattributed:
            self.store.record(operation, caller, "", unattributed, 0, 0, unattributed)
