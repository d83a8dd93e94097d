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
    def set_metadata_bulk(caller: Caller, path_metadata: Any) -> dict[str, Any]:
        successful: dict[str, Any] = {}
        failed: dict[str, str] = {}
        for path, values in lfn_dict(path_metadata).items():
            try:
                fc.metadata.set_values(caller, path, values)
                successful[path] = True
            except DiracError as exc:  # per path, like DIRAC
                failed[path] = str(exc)
        return {"Successful": successful, "Failed": failed}

    return {
        "addFile": lambda caller, lfns: fc.files.add(caller, lfn_dict(lfns)),
        "removeFile": lambda caller, lfns: fc.files.remove(caller, lfn_list(lfns)),
        "getFileMetadata": lambda caller, lfns: fc.files.metadata(caller, lfn_list(lfns)),
        "isFile": lambda caller, lfns: fc.files.is_file(caller, lfn_list(lfns)),
        "exists": lambda caller, lfns: fc.files.exists(caller, lfn_list(lfns)),
        "getReplicas": lambda caller, lfns, all_status=False: fc.replicas.get(caller, lfn_list(lfns), bool(all_status)),
        "addReplica": lambda caller, lfns: fc.replicas.add(caller, lfn_dict(lfns)),
        "removeReplica": lambda caller, lfns: fc.replicas.remove(caller, lfn_dict(lfns)),
        "createDirectory": lambda caller, lfns: fc.directories.create(caller, lfn_list(lfns)),
        "removeDirectory": lambda caller, lfns: fc.directories.remove(caller, lfn_list(lfns)),
        "isDirectory": lambda caller, lfns: fc.directories.is_directory(caller, lfn_list(lfns)),
        "listDirectory": lambda caller, lfns, verbose=False: fc.directories.list_dir(caller, lfn_list(lfns), verbose),
        "getDirectorySize": lambda caller, lfns, long_output=False, from_files=False: fc.directories.size(
            caller, lfn_list(lfns)
        ),
        "changePathMode": lambda caller, lfns, recursive=False: fc.ownership.change_mode(
            caller, lfn_dict(lfns), bool(recursive)
        ),
        "changePathOwner": lambda caller, lfns, recursive=False: fc.ownership.change_owner(
            caller, lfn_dict(lfns), bool(recursive)
        ),
        "changePathGroup": lambda caller, lfns, recursive=False: fc.ownership.change_group(
            caller, lfn_dict(lfns), bool(recursive)
        ),
        "addMetadataField": lambda caller, name, meta_type, kind="-d": fc.metadata.add_field(
            caller, name, meta_type, kind
        ),
        "deleteMetadataField": lambda caller, name: fc.metadata.delete_field(caller, name),
        "getMetadataFields": lambda _caller: fc.metadata.fields(refresh=True),
        "setMetadata": lambda caller, path, values: fc.metadata.set_values(caller, path, values),
        "setMetadataBulk": set_metadata_bulk,
        "removeMetadata": lambda caller, path, names: fc.metadata.remove(caller, path, lfn_list(names)),
        "getDirectoryUserMetadata": lambda caller, path: fc.metadata.get(caller, path),
        "getFileUserMetadata": lambda caller, path: fc.metadata.get(caller, path),
        "findFilesByMetadata": lambda caller, query, path="/": fc.metadata.find(caller, query, path),
    }
