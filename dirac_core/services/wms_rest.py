"""REST routers of the WorkloadManagement components (mounted at /api/WorkloadManagement/<Service>).

Thin adapters: validate the body with pydantic, take the caller from `current_caller`, call the logic.
Errors are DiracErrors the runtime turns into 4xx with ``{"detail": message}``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from dirac_core.auth.caller import Caller
from dirac_core.auth.dependencies import current_caller
from dirac_core.db.base import MAX_BIGINT
from dirac_core.errors import BadRequest, PayloadTooLarge
from dirac_core.services.arguments import JobId, JobIdPath
from dirac_core.wms.job_manager import JobManager
from dirac_core.wms.job_monitoring import JobMonitoring
from dirac_core.wms.job_state_update import JobStateUpdate
from dirac_core.wms.matcher import Matcher
from dirac_core.wms.sandbox_store import SandboxStore, storage_refusal
from dirac_core.wms.submission import KEY_PATTERN

CallerDep = Depends(current_caller)


# ---------------------------------------------------------------------------------------- models
class SubmitRequest(BaseModel):
    jdl: str = Field(min_length=1, description="DIRAC JDL of one job or of a parametric job")
    copies: int = Field(1, ge=1, strict=True, description="submit this many identical jobs (up to MaxJobCopies)")


class JobIDs(BaseModel):
    job_ids: list[JobId] = Field(min_length=1)


class JobIDsReply(BaseModel):
    job_ids: list[int]


class StatusUpdate(BaseModel):
    status: str = ""
    minor_status: str = ""
    application_status: str = ""
    source: str = "Unknown"


class ParametersUpdate(BaseModel):
    parameters: dict[str, str] = Field(min_length=1)


class Heartbeat(BaseModel):
    dynamic_data: dict[str, float | int | str] = Field(default_factory=dict)
    static_data: dict[str, str] = Field(default_factory=dict)


class HeartbeatReply(BaseModel):
    commands: dict[str, str]


class SearchRequest(BaseModel):
    conditions: dict[str, str | int | list[str | int]] = Field(default_factory=dict)
    columns: list[str] = Field(default_factory=list)
    sort: list[tuple[str, str]] = Field(default_factory=lambda: [("JobID", "DESC")])
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=0, le=10000)
    from_date: datetime | None = None
    to_date: datetime | None = None


class SummaryRequest(BaseModel):
    group_by: list[str] = Field(default_factory=lambda: ["Status"], min_length=1)
    conditions: dict[str, str | int | list[str | int]] = Field(default_factory=dict)
    from_date: datetime | None = None
    to_date: datetime | None = None


class MatchReply(BaseModel):
    matched: bool
    job: dict[str, Any] | None = None


class SandboxReply(BaseModel):
    location: str
    sb_id: int
    bytes: int
    new: bool


# ---------------------------------------------------------------------------------------- routers
def job_manager_router(manager: JobManager) -> APIRouter:
    router = APIRouter(tags=["JobManager"])

    @router.post("/jobs", status_code=201)
    def submit(
        body: SubmitRequest,
        caller: Caller = CallerDep,
        idempotency_key: str | None = Header(
            None,
            alias="Idempotency-Key",
            min_length=1,
            max_length=128,
            pattern=KEY_PATTERN,
            description="one per logical submission (a UUID): a retry with it gets the first reply's job_ids",
        ),
    ) -> JobIDsReply:
        return JobIDsReply(job_ids=manager.submit(caller, body.jdl, body.copies, idempotency_key=idempotency_key))

    @router.post("/jobs/kill")
    def kill(body: JobIDs, caller: Caller = CallerDep) -> JobIDsReply:
        return JobIDsReply(job_ids=manager.kill(caller, body.job_ids))

    @router.post("/jobs/delete")
    def delete(body: JobIDs, caller: Caller = CallerDep) -> JobIDsReply:
        return JobIDsReply(job_ids=manager.delete(caller, body.job_ids))

    @router.post("/jobs/reschedule")
    def reschedule(body: JobIDs, caller: Caller = CallerDep) -> JobIDsReply:
        return JobIDsReply(job_ids=manager.reschedule(caller, body.job_ids))

    return router


def job_monitoring_router(monitoring: JobMonitoring) -> APIRouter:
    router = APIRouter(tags=["JobMonitoring"])

    @router.post("/jobs/status")
    def status(body: JobIDs, caller: Caller = CallerDep) -> dict[int, dict[str, Any]]:
        return monitoring.get_jobs_status(caller, body.job_ids)

    @router.get("/jobs/{job_id}")
    def attributes(
        job_id: JobIdPath, caller: Caller = CallerDep, name: list[str] = Query(default=[])
    ) -> dict[str, Any]:
        return monitoring.get_job_attributes(caller, job_id, name)

    @router.get("/jobs/{job_id}/parameters")
    def parameters(
        job_id: JobIdPath, caller: Caller = CallerDep, name: list[str] = Query(default=[])
    ) -> dict[str, str]:
        return monitoring.get_job_parameters(caller, job_id, name)[job_id]

    @router.get("/jobs/{job_id}/logging")
    def logging(job_id: JobIdPath, caller: Caller = CallerDep) -> list[dict[str, str]]:
        return monitoring.get_job_logging_info(caller, job_id)

    @router.get("/jobs/{job_id}/jdl")
    def jdl(job_id: JobIdPath, caller: Caller = CallerDep, original: bool = False) -> dict[str, str]:
        return {"jdl": monitoring.get_job_jdl(caller, job_id, original)}

    @router.get("/jobs/{job_id}/heartbeats")
    def heartbeats(job_id: JobIdPath, caller: Caller = CallerDep) -> list[dict[str, Any]]:
        return [
            {"Name": name, "Value": value, "HeartBeatTime": when}
            for name, value, when in monitoring.get_heartbeat_data(caller, job_id)
        ]

    @router.post("/search")
    def search(body: SearchRequest, caller: Caller = CallerDep) -> dict[str, Any]:
        return monitoring.search(
            caller, body.conditions, body.columns, body.sort, body.offset, body.limit, body.from_date, body.to_date
        )

    @router.post("/summary")
    def summary(body: SummaryRequest, caller: Caller = CallerDep) -> list[dict[str, Any]]:
        return monitoring.summary(caller, body.group_by, body.conditions, body.from_date, body.to_date)

    return router


def job_state_update_router(state: JobStateUpdate) -> APIRouter:
    router = APIRouter(tags=["JobStateUpdate"])

    @router.put("/jobs/{job_id}/status")
    def set_status(job_id: JobIdPath, body: StatusUpdate, caller: Caller = CallerDep) -> dict[str, str]:
        return state.set_status(caller, job_id, body.status, body.minor_status, body.application_status, body.source)

    @router.put("/jobs/{job_id}/parameters")
    def set_parameters(job_id: JobIdPath, body: ParametersUpdate, caller: Caller = CallerDep) -> dict[str, int]:
        state.set_parameters(caller, job_id, list(body.parameters.items()))
        return {"updated": len(body.parameters)}

    @router.post("/jobs/{job_id}/heartbeat")
    def heartbeat(job_id: JobIdPath, body: Heartbeat, caller: Caller = CallerDep) -> HeartbeatReply:
        return HeartbeatReply(commands=state.heartbeat(caller, job_id, body.dynamic_data, body.static_data))

    return router


def matcher_router(matcher: Matcher) -> APIRouter:
    router = APIRouter(tags=["Matcher"])

    @router.post("/request")
    def request_job(resource: dict[str, Any], caller: Caller = CallerDep) -> MatchReply:
        match = matcher.request_job(caller, resource)
        return MatchReply(matched=match is not None, job=match)

    return router


def _iter_file(handle: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    handle.seek(0)
    while chunk := handle.read(size):
        yield chunk


def sandbox_store_router(store: SandboxStore) -> APIRouter:
    router = APIRouter(tags=["SandboxStore"])

    @router.post("/sandboxes", status_code=201)
    async def upload(
        request: Request,
        checksum: str = Query(description="sha256 of the tar file"),
        job_id: int | None = Query(
            None, ge=1, le=MAX_BIGINT, description="assign to this job (pilots: output sandboxes)"
        ),
        sb_type: str = Query("Input", alias="type"),
        caller: Caller = CallerDep,
    ) -> SandboxReply:
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                raise BadRequest("Content-Length is not a number")
            store.check_declared_size(int(declared))  # 413 before reading the body
        with tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
            received = 0
            async for chunk in request.stream():
                received += len(chunk)
                if received > store.max_bytes:
                    raise PayloadTooLarge(
                        f"sandbox exceeds the limit of {store.max_bytes} bytes (MaxSandboxSizeMiB): "
                        "put large files on a storage element and list them in InputData"
                    )
                try:
                    spool.write(chunk)
                except OSError as exc:  # spooled to the temp dir above 1 MiB
                    refusal = storage_refusal(exc, Path(tempfile.gettempdir()))
                    if refusal is None:
                        raise
                    raise refusal from exc
            stored = await run_in_threadpool(
                store.upload, caller, _iter_file(spool), checksum, received, job_id, sb_type
            )
        return SandboxReply(location=stored.location, sb_id=stored.sb_id, bytes=stored.size, new=stored.new)

    @router.get("/sandboxes")
    def download(location: str, caller: Caller = CallerDep) -> FileResponse:
        path = store.path_of(caller, location)
        return FileResponse(path, media_type="application/x-tar", filename=path.name)

    @router.get("/jobs/{job_id}/sandboxes")
    def job_sandboxes(
        job_id: JobIdPath, caller: Caller = CallerDep, sb_type: str | None = Query(None, alias="type")
    ) -> dict[str, list[str]]:
        return {"locations": store.job_sandboxes(caller, job_id, sb_type)}

    return router
