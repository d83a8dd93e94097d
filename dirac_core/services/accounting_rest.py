"""REST routers of the Accounting components (``/api/Accounting/DataStore``, ``/api/Accounting/ReportGenerator``)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from dirac_core.accounting.datastore import DataStore
from dirac_core.accounting.report_generator import ReportGenerator, build_query
from dirac_core.accounting.reports import ENTRIES, ReportQuery
from dirac_core.auth.caller import Caller
from dirac_core.auth.dependencies import current_caller
from dirac_core.errors import BadRequest

CallerDep = Depends(current_caller)
TimeValue = str | int | float


class RecordsRequest(BaseModel):
    type: str = Field(description="accounting type: Job, DataOperation")
    records: list[dict[str, Any]] = Field(description="named key and value fields, startTime, endTime")


class CommitReply(BaseModel):
    inserted: int


class ReportRequest(BaseModel):
    type: str = Field(description="accounting type: Job, DataOperation")
    group_by: str = Field(description="key field or alias: user, group, site, status, ...")
    start: TimeValue = Field(description="ISO time (UTC) or epoch seconds")
    end: TimeValue = Field(description="ISO time (UTC) or epoch seconds, after start")
    conditions: dict[str, list[str] | str] = Field(default_factory=dict, description="key field -> allowed values")
    value: str = Field(ENTRIES, description="plotted value: entries or a value field (CPUTime, TransferSize...)")

    def query(self) -> ReportQuery:
        return build_query(self.type, self.group_by, self.start, self.end, self.conditions)


def data_store_router(store: DataStore) -> APIRouter:
    router = APIRouter(tags=["DataStore"])

    @router.post("/records", status_code=201)
    def commit(body: RecordsRequest, caller: Caller = CallerDep) -> CommitReply:
        return CommitReply(inserted=store.commit(caller, body.type, body.records))

    @router.get("/types")
    def types(_caller: Caller = CallerDep) -> dict[str, dict[str, Any]]:
        return store.registered_types()

    @router.get("/bucketing")
    def bucketing(_caller: Caller = CallerDep) -> dict[str, Any]:
        return store.bucketing_status()

    @router.post("/bucketing")
    def run_bucketing(caller: Caller = CallerDep) -> dict[str, Any]:
        return store.run_bucketing(caller)

    return router


def report_generator_router(generator: ReportGenerator) -> APIRouter:
    router = APIRouter(tags=["ReportGenerator"])

    @router.post("/summary", response_model=None)
    def summary(
        body: ReportRequest, format: Literal["json", "csv"] = "json", _caller: Caller = CallerDep
    ) -> dict[str, Any] | PlainTextResponse:
        if format == "csv":
            return PlainTextResponse(generator.summary_csv(body.query()), media_type="text/csv")
        return generator.summary(body.query())

    @router.post("/timeseries")
    def timeseries(body: ReportRequest, _caller: Caller = CallerDep) -> dict[str, Any]:
        return generator.timeseries(body.query(), body.value)

    @router.post("/plot", response_class=Response, responses={200: {"content": {"image/png": {}}}})
    def plot(body: ReportRequest, _caller: Caller = CallerDep) -> Response:
        return Response(generator.plot(body.query(), body.value), media_type="image/png")

    @router.get("/plot", response_class=Response, responses={200: {"content": {"image/png": {}}}})
    def plot_get(
        type: str,
        group_by: str,
        start: str,
        end: str,
        value: str = ENTRIES,
        condition: list[str] = Query(default=[], description="KEY=VALUE, repeatable"),
        _caller: Caller = CallerDep,
    ) -> Response:
        """The same plot for a browser or curl: the report in query parameters."""
        conditions: dict[str, list[str]] = {}
        for pair in condition:
            key, sep, item = pair.partition("=")
            if not sep:
                raise BadRequest(f"condition {pair!r}: write KEY=VALUE")
            conditions.setdefault(key, []).append(item)
        return Response(
            generator.plot(build_query(type, group_by, start, end, conditions), value), media_type="image/png"
        )

    return router
