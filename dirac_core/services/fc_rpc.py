"""DIRAC RPC method table of the FileCatalog, with DIRAC's FileCatalogHandler names and argument shapes.

DIRAC clients pass ``lfns`` as one LFN, a list, or a dict keyed by LFN; bulk methods return
``{"Successful": {...}, "Failed": {...}}`` as the S_OK value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.catalog.catalog import FileCatalog
from dirac_core.errors import BadRequest, DiracError
from dirac_core.services.arguments import Fields, Flag, LfnMap, Lfns, Text
from dirac_core.services.component import RpcMethod


def lfn_list(lfns: Any) -> list[str]:
    if isinstance(lfns, str):
        return [lfns]
    if isinstance(lfns, Mapping):
        return list(lfns)
    if isinstance(lfns, list | tuple):
        return [str(item) if not isinstance(item, str) else item for item in lfns]
    raise BadRequest(f"lfns must be an LFN, a list or a dict keyed by LFN, not {type(lfns).__name__}")


def lfn_dict(lfns: Any) -> dict[str, Any]:
    if not isinstance(lfns, Mapping):
        raise BadRequest(f"lfns must be a dict keyed by LFN, not {type(lfns).__name__}")
    return dict(lfns)


def file_catalog_rpc(fc: FileCatalog) -> dict[str, RpcMethod]:
    def set_metadata_bulk(caller: Caller, path_metadata: LfnMap) -> dict[str, Any]:
        successful: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for path, values in lfn_dict(path_metadata).items():
            try:
                fc.metadata.set_values(caller, path, values)
                successful[path] = True
            except DiracError as exc:  # per path, like DIRAC
                failed[path] = str(exc)
        return {"Successful": successful, "Failed": failed}

    def add_file(caller: Caller, lfns: LfnMap) -> Any:
        return fc.files.add(caller, lfn_dict(lfns))

    def remove_file(caller: Caller, lfns: Lfns) -> Any:
        return fc.files.remove(caller, lfn_list(lfns))

    def file_metadata(caller: Caller, lfns: Lfns) -> Any:
        return fc.files.metadata(caller, lfn_list(lfns))

    def is_file(caller: Caller, lfns: Lfns) -> Any:
        return fc.files.is_file(caller, lfn_list(lfns))

    def exists(caller: Caller, lfns: Lfns) -> Any:
        return fc.files.exists(caller, lfn_list(lfns))

    def get_replicas(caller: Caller, lfns: Lfns, all_status: Flag = False) -> Any:
        return fc.replicas.get(caller, lfn_list(lfns), all_status)

    def add_replica(caller: Caller, lfns: LfnMap) -> Any:
        return fc.replicas.add(caller, lfn_dict(lfns))

    def remove_replica(caller: Caller, lfns: LfnMap) -> Any:
        return fc.replicas.remove(caller, lfn_dict(lfns))

    def create_directory(caller: Caller, lfns: Lfns) -> Any:
        return fc.directories.create(caller, lfn_list(lfns))

    def remove_directory(caller: Caller, lfns: Lfns) -> Any:
        return fc.directories.remove(caller, lfn_list(lfns))

    def is_directory(caller: Caller, lfns: Lfns) -> Any:
        return fc.directories.is_directory(caller, lfn_list(lfns))

    def list_directory(caller: Caller, lfns: Lfns, verbose: Flag = False) -> Any:
        return fc.directories.list_dir(caller, lfn_list(lfns), verbose)

    def directory_size(
        caller: Caller, lfns: Lfns, long_output: Flag = False, from_files: Flag = False, recursive_sum: Flag = True
    ) -> Any:
        # Sizes are always computed from the file tables over the whole subtree (DIRAC's defaults);
        # PhysicalSize is always included, so longOut/fromFiles change nothing here.
        if not recursive_sum:
            raise BadRequest("getDirectorySize with recursiveSum=False is not supported: sizes cover the subtree")
        return fc.directories.size(caller, lfn_list(lfns))

    def directory_metadata(caller: Caller, lfns: Lfns) -> Any:
        return fc.lookups.directory_parameters(caller, lfn_list(lfns))

    def file_size(caller: Caller, lfns: Lfns) -> Any:
        return fc.lookups.file_sizes(caller, lfn_list(lfns))

    def replica_status(caller: Caller, lfns: LfnMap) -> Any:
        return fc.lookups.replica_status(caller, lfn_dict(lfns))

    def lfn_for_guid(caller: Caller, guids: Lfns) -> Any:
        return fc.lookups.lfns_for_guids(caller, lfn_list(guids))

    def catalog_counters(caller: Caller) -> Any:
        return fc.lookups.counters(caller)

    def is_ok(_caller: Caller) -> None:
        fc.db.ping()  # DIRAC: S_OK when the service reaches its database

    def change_mode(caller: Caller, lfns: LfnMap, recursive: Flag = False) -> Any:
        return fc.ownership.change_mode(caller, lfn_dict(lfns), recursive)

    def change_owner(caller: Caller, lfns: LfnMap, recursive: Flag = False) -> Any:
        return fc.ownership.change_owner(caller, lfn_dict(lfns), recursive)

    def change_group(caller: Caller, lfns: LfnMap, recursive: Flag = False) -> Any:
        return fc.ownership.change_group(caller, lfn_dict(lfns), recursive)

    def add_field(caller: Caller, name: Text, meta_type: Text, kind: Text = "-d") -> Any:
        return fc.metadata.add_field(caller, name, meta_type, kind)

    def delete_field(caller: Caller, name: Text) -> Any:
        return fc.metadata.delete_field(caller, name)

    def set_metadata(caller: Caller, path: Text, values: Fields) -> Any:
        return fc.metadata.set_values(caller, path, values)

    def remove_metadata(caller: Caller, path_metadata: LfnMap) -> Any:
        """DIRAC's removeMetadata({path: [names]}): per path Successful/Failed."""
        successful: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for path, names in lfn_dict(path_metadata).items():
            try:
                fc.metadata.remove(caller, path, lfn_list(names))
                successful[path] = True
            except DiracError as exc:  # per path, like DIRAC
                failed[path] = str(exc)
        return {"Successful": successful, "Failed": failed}

    def user_metadata(caller: Caller, path: Text) -> Any:
        return fc.metadata.get(caller, path)

    def find(caller: Caller, query: Text | Fields, path: Text = "/") -> Any:
        return fc.metadata.find(caller, query, path)

    return {
        "addFile": add_file,
        "removeFile": remove_file,
        "getFileMetadata": file_metadata,
        "isFile": is_file,
        "exists": exists,
        "getReplicas": get_replicas,
        "addReplica": add_replica,
        "removeReplica": remove_replica,
        "createDirectory": create_directory,
        "removeDirectory": remove_directory,
        "isDirectory": is_directory,
        "listDirectory": list_directory,
        "getDirectorySize": directory_size,
        "getDirectoryMetadata": directory_metadata,
        "getFileSize": file_size,
        "getReplicaStatus": replica_status,
        "getLFNForGUID": lfn_for_guid,
        "getCatalogCounters": catalog_counters,
        "isOK": is_ok,
        "changePathMode": change_mode,
        "changePathOwner": change_owner,
        "changePathGroup": change_group,
        "addMetadataField": add_field,
        "deleteMetadataField": delete_field,
        "getMetadataFields": lambda _caller: fc.metadata.fields(refresh=True),
        "setMetadata": set_metadata,
        "setMetadataBulk": set_metadata_bulk,
        "removeMetadata": remove_metadata,
        "getDirectoryUserMetadata": user_metadata,
        "getFileUserMetadata": user_metadata,
        "findFilesByMetadata": find,
    }
