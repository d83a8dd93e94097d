"""REST router of a File Catalog (mounted at /api/DataManagement/<Catalog>).

Bulk endpoints take JSON bodies (LFN lists can be long, so reads are POSTs too) and answer DIRAC's
``{"Successful": {...}, "Failed": {lfn: reason}}``. Errors are DiracErrors -> 4xx ``{"detail": ...}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from dirac_core.auth.caller import Caller
from dirac_core.auth.dependencies import current_caller
from dirac_core.catalog.catalog import FileCatalog

CallerDep = Depends(current_caller)
BulkReply = dict[str, dict[str, Any]]


class Paths(BaseModel):
    paths: list[str] = Field(min_length=1, description="LFNs (files or directories)")


class ReplicaQuery(BaseModel):
    lfns: list[str] = Field(min_length=1)
    all_status: bool = False


class FileEntries(BaseModel):
    files: dict[str, Any] = Field(min_length=1, description="lfn -> {Size, SE, PFN, GUID, Checksum, ChecksumType}")


class ReplicaEntries(BaseModel):
    replicas: dict[str, Any] = Field(min_length=1, description="lfn -> {SE, PFN}")


class PathValues(BaseModel):
    paths: dict[str, Any] = Field(min_length=1, description="path -> mode, owner or group")
    recursive: bool = False


class MetadataField(BaseModel):
    name: str
    type: str = Field(description="INT, FLOAT, VARCHAR(n) or DATETIME")
    kind: str = Field("-d", description="-d: directory field (inherited), -f: file field")


class MetadataValues(BaseModel):
    path: str
    metadata: dict[str, Any] = Field(min_length=1)


class FindRequest(BaseModel):
    query: str | dict[str, Any] = Field(description="e.g. 'energy>10 AND type=raw', or DIRAC's metaDict")
    path: str = "/"


def file_catalog_router(fc: FileCatalog) -> APIRouter:
    router = APIRouter(tags=[fc.name])

    @router.post("/files", status_code=200)
    def add_files(body: FileEntries, caller: Caller = CallerDep) -> BulkReply:
        return fc.files.add(caller, body.files)

    @router.post("/files/remove")
    def remove_files(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.files.remove(caller, body.paths)

    @router.post("/files/metadata")
    def file_metadata(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.files.metadata(caller, body.paths)

    @router.post("/replicas/get")
    def get_replicas(body: ReplicaQuery, caller: Caller = CallerDep) -> BulkReply:
        return fc.replicas.get(caller, body.lfns, body.all_status)

    @router.post("/replicas/add")
    def add_replicas(body: ReplicaEntries, caller: Caller = CallerDep) -> BulkReply:
        return fc.replicas.add(caller, body.replicas)

    @router.post("/replicas/remove")
    def remove_replicas(body: ReplicaEntries, caller: Caller = CallerDep) -> BulkReply:
        return fc.replicas.remove(caller, body.replicas)

    @router.post("/directories")
    def create_directories(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.directories.create(caller, body.paths)

    @router.post("/directories/list")
    def list_directories(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.directories.list_dir(caller, body.paths)

    @router.post("/directories/size")
    def directory_size(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.directories.size(caller, body.paths)

    @router.post("/directories/remove")
    def remove_directories(body: Paths, caller: Caller = CallerDep) -> BulkReply:
        return fc.directories.remove(caller, body.paths)

    @router.post("/paths/mode")
    def change_mode(body: PathValues, caller: Caller = CallerDep) -> BulkReply:
        return fc.ownership.change_mode(caller, body.paths, body.recursive)

    @router.post("/paths/owner")
    def change_owner(body: PathValues, caller: Caller = CallerDep) -> BulkReply:
        return fc.ownership.change_owner(caller, body.paths, body.recursive)

    @router.post("/paths/group")
    def change_group(body: PathValues, caller: Caller = CallerDep) -> BulkReply:
        return fc.ownership.change_group(caller, body.paths, body.recursive)

    @router.get("/metadata/fields")
    def metadata_fields(caller: Caller = CallerDep) -> dict[str, dict[str, str]]:
        return fc.metadata.fields(refresh=True)

    @router.post("/metadata/fields", status_code=201)
    def add_metadata_field(body: MetadataField, caller: Caller = CallerDep) -> dict[str, str]:
        return {"message": fc.metadata.add_field(caller, body.name, body.type, body.kind)}

    @router.post("/metadata")
    def set_metadata(body: MetadataValues, caller: Caller = CallerDep) -> dict[str, str]:
        fc.metadata.set_values(caller, body.path, body.metadata)
        return {"path": body.path}

    @router.get("/metadata")
    def get_metadata(path: str = Query(description="directory or file"), caller: Caller = CallerDep) -> dict[str, Any]:
        return fc.metadata.get(caller, path)

    @router.post("/metadata/find")
    def find(body: FindRequest, caller: Caller = CallerDep) -> dict[str, list[str]]:
        return {"lfns": fc.metadata.find(caller, body.query, body.path)}

    return router
