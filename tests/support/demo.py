"""A demo component for runtime tests: a counter with REST and RPC, one property-protected call.

State lives in a SQLite/MariaDB table so tests can check that refused calls changed nothing.
"""

from __future__ import annotations

import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select

from dirac_core.auth.caller import Caller, Properties
from dirac_core.auth.dependencies import current_caller, require_property
from dirac_core.errors import NotFound
from dirac_core.services.component import Component, ComponentContext, RpcMethod

metadata = MetaData()
items = Table(
    "DemoItems",
    metadata,
    Column("ItemID", Integer, primary_key=True, autoincrement=True),
    Column("Name", String(64), nullable=False),
    Column("Owner", String(64), nullable=False),
)


class DemoLogic:
    def __init__(self, ctx: ComponentContext) -> None:
        self.engine = ctx.engine("Demo", "DemoDB")
        metadata.create_all(self.engine)

    def add(self, caller: Caller, name: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(items).values(Name=name, Owner=caller.username))
            return int(result.inserted_primary_key[0])

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    def get(self, item_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(items).where(items.c.ItemID == item_id)).first()
        if row is None:
            raise NotFound(f"item {item_id} does not exist: list items first")
        return {"ItemID": row.ItemID, "Name": row.Name, "Owner": row.Owner}

    def purge(self, caller: Caller) -> int:
        caller.require(Properties.JOB_ADMINISTRATOR)
        with self.engine.begin() as conn:
            return int(conn.execute(items.delete()).rowcount)


def build_router(ctx: ComponentContext) -> APIRouter:
    logic = DemoLogic(ctx)
    router = APIRouter()

    @router.post("/items")
    def add_item(body: dict[str, str], caller: Caller = Depends(current_caller)) -> dict[str, int]:
        return {"ItemID": logic.add(caller, body["Name"])}

    @router.get("/items/count")
    def count_items() -> dict[str, int]:
        # No Depends(current_caller) here: the runtime still requires authentication for all REST.
        return {"count": logic.count()}

    @router.get("/items/{item_id}")
    def get_item(item_id: int, _caller: Caller = Depends(current_caller)) -> dict[str, Any]:
        return logic.get(item_id)

    @router.delete("/items")
    def purge_items(caller: Caller = Depends(require_property(Properties.JOB_ADMINISTRATOR))) -> dict[str, int]:
        return {"deleted": logic.purge(caller)}

    @router.post("/upload")
    async def upload(request: Request, _caller: Caller = Depends(current_caller)) -> dict[str, int]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
        return {"received": size}

    @router.get("/fail")
    def fail_rest(_caller: Caller = Depends(current_caller)) -> None:
        raise RuntimeError("boom")

    @router.get("/blob")
    def blob(size: int, _caller: Caller = Depends(current_caller)) -> Any:
        from fastapi.responses import StreamingResponse

        def chunks() -> Any:
            for start in range(0, size, 65536):
                yield b"x" * min(65536, size - start)

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    return router


def build_rpc(ctx: ComponentContext) -> dict[str, RpcMethod]:
    logic = DemoLogic(ctx)

    def addItem(caller: Caller, name: str) -> int:
        return logic.add(caller, name)

    def countItems(_caller: Caller) -> int:
        return logic.count()

    def getItem(_caller: Caller, item_id: int) -> dict[str, Any]:
        return logic.get(item_id)

    def purgeItems(caller: Caller) -> int:
        return logic.purge(caller)

    def getJobsStatus(_caller: Caller, job_ids: list[int]) -> dict[str, dict[str, str]]:
        # DIRAC's JobMonitoring.getJobsStatus shape: {jobID: {"Status": ...}} (JSON keys are strings)
        return {str(job_id): {"Status": "Waiting"} for job_id in job_ids}

    def echoTypes(_caller: Caller, when: datetime.datetime, day: datetime.date, data: bytes) -> list[Any]:
        return [when + datetime.timedelta(days=1), day, data[::-1]]

    def slowEcho(_caller: Caller, value: Any, seconds: float) -> Any:
        import time

        time.sleep(seconds)
        return value

    def streamToClient(_caller: Caller, size: int) -> Any:
        if size < 0:
            raise NotFound(f"no blob of size {size}")
        return (b"z" * min(65536, size - start) for start in range(0, size, 65536))

    def fail(_caller: Caller) -> None:
        raise RuntimeError("boom")

    return {
        "addItem": addItem,
        "countItems": countItems,
        "getItem": getItem,
        "purgeItems": purgeItems,
        "getJobsStatus": getJobsStatus,
        "echoTypes": echoTypes,
        "slowEcho": slowEcho,
        "streamToClient": streamToClient,
        "fail": fail,
    }


DEMO = Component(
    name="Demo/Items",
    default_port=9999,
    databases=(("Demo", "DemoDB"),),
    build_router=build_router,
    build_rpc=build_rpc,
    description="Demo component of the runtime tests",
)


def demo_registry() -> list[Component]:
    """A registry for `dirac-core up --registry tests.support.demo:demo_registry` in tests."""
    from dirac_core.services.framework_auth import AUTH

    return [DEMO, AUTH]
