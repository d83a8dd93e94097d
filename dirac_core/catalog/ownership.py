"""chmod/chown: changePathMode (owner or admin), changePathOwner and changePathGroup (admin, or the
owner for a group it acts in). ``recursive`` applies to the whole subtree (through FC_DirectoryClosure);
a non-admin changes only the entries it owns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from dirac_core.auth.caller import Caller
from dirac_core.catalog import paths as lfn
from dirac_core.catalog.permissions import is_admin, parse_mode
from dirac_core.catalog.store import NO_SUCH, CatalogStore, Result, all_failed_forbidden, bulk
from dirac_core.db import filecatalog_dirs as dirs
from dirac_core.errors import BadRequest, DiracError, Forbidden


class Ownership:
    def __init__(self, store: CatalogStore) -> None:
        self.store = store

    def _locate(self, conn: Connection, path: str) -> tuple[str, int, int]:
        """("dir"|"file", id, owner UID) of `path`."""
        rows = self.store.dir_rows(conn, [path])
        if path in rows:
            return "dir", rows[path].dir_id, rows[path].uid
        found = self.store.find_files(conn, [path])
        if path not in found:
            raise BadRequest(f"{NO_SUCH}: {path}")
        return "file", found[path].file_id, found[path].uid

    def _apply(
        self,
        caller: Caller,
        operation: str,
        items: Mapping[str, Any],
        prepare: Any,
        owner_may: bool,
        recursive: bool,
    ) -> Result:
        self.store.check_bulk(len(items), "paths")
        good, failed = lfn.check_many(items)
        successful: dict[str, Any] = {}
        uid, _gid = self.store.caller_ids(caller)
        admin = is_admin(caller)
        with self.store.engine.begin() as conn:
            for raw, path in good.items():
                try:
                    dir_values, file_values, info_values = prepare(items[raw], conn)
                    kind, ident, owner_uid = self._locate(conn, path)
                except DiracError as exc:
                    failed[raw] = str(exc)
                    continue
                if not admin and not (owner_may and owner_uid == uid):
                    who = "the owner or a" if owner_may else "a"
                    failed[raw] = (
                        f"Permission denied: only {who} FileCatalogManagement administrator may {operation} {path}"
                    )
                    continue
                only_mine = None if admin else uid
                dirs.update_entry(
                    conn,
                    is_dir=kind == "dir",
                    ident=ident,
                    recursive=recursive,
                    only_uid=only_mine,
                    dir_values=dir_values,
                    file_values=file_values,
                    info_values=info_values,
                    chunk=self.store.chunk,
                )
                successful[raw] = True
        self.store.record(operation, caller, "", len(items), 0, len(successful), len(failed))
        if all_failed_forbidden(failed, len(items)):
            raise Forbidden(next(iter(failed.values())))
        return bulk(successful, failed)

    def change_mode(self, caller: Caller, modes: Mapping[str, Any], recursive: bool = False) -> Result:
        """changePathMode: ``{path: mode}`` (octal string or int)."""

        def prepare(raw: Any, _conn: Connection) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            mode = parse_mode(raw)
            return {"Mode": mode}, {}, {"Mode": mode}

        return self._apply(caller, "changePathMode", modes, prepare, True, recursive)

    def change_owner(self, caller: Caller, owners: Mapping[str, Any], recursive: bool = False) -> Result:
        """changePathOwner: ``{path: user}`` or ``{path: {"Owner": user, "Group": group}}`` (administrators)."""

        def prepare(raw: Any, conn: Connection) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            spec = raw if isinstance(raw, Mapping) else {"Owner": raw}
            values: dict[str, Any] = {}
            if spec.get("Owner"):
                values["UID"] = self.store.uid(_name(spec["Owner"], "user"), conn)
            if spec.get("Group"):
                values["GID"] = self.store.gid(_name(spec["Group"], "group"), conn)
            if not values:
                raise BadRequest("give Owner and/or Group")
            return values, values, {}

        return self._apply(caller, "changePathOwner", owners, prepare, False, recursive)

    def change_group(self, caller: Caller, groups: Mapping[str, Any], recursive: bool = False) -> Result:
        """changePathGroup: ``{path: group}``; the owner may hand an entry to the group it acts in."""

        def prepare(raw: Any, conn: Connection) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
            group = _name(raw, "group")
            if not is_admin(caller) and group != caller.group:
                raise BadRequest(
                    f"Permission denied: {caller.username} may only give entries to its group {caller.group}"
                )
            values = {"GID": self.store.gid(group, conn)}
            return values, values, {}

        return self._apply(caller, "changePathGroup", groups, prepare, True, recursive)


def _name(raw: Any, what: str) -> str:
    if (
        not isinstance(raw, str)
        or not raw
        or len(raw) > 64
        or not raw.replace("_", "").replace("-", "").replace(".", "").isalnum()
    ):
        raise BadRequest(f"{what} name {raw!r} is not a DIRAC {what} name")
    return raw
