"""WorkloadManagement components: REST routers via TestClient (caller set by a test middleware) and RPC tables.

Unit level: the real HTTPS runtime and its authentication are tested end-to-end by the runtime's suite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dirac_core.config.cfg import Config
from dirac_core.config.paths import database_section
from dirac_core.db import schema
from dirac_core.db.engine import make_engine, url_from_section
from dirac_core.db.installed import get_database
from dirac_core.errors import BadRequest, DiracError, Forbidden, NotFound
from dirac_core.services.arguments import MethodArguments
from dirac_core.services.component import ComponentContext
from dirac_core.services.installed import all_components, get_component

from .conftest import ADMIN, ALICE, BOB, PILOT, WMS_DBS
from .test_sandbox_store import make_tar

CALLERS = {c.username: c for c in (ALICE, BOB, ADMIN, PILOT)}


def config_text(tmp_path: Path) -> str:
    def section(name: str, body: str) -> str:
        return f"{name}\n{{\n{body}\n}}"

    dbs = "\n".join(
        section(n, f"URL = sqlite:///{tmp_path / (n + '.sqlite')}" + ("\nMinJobID = 1000" if n == "JobDB" else ""))
        for n in WMS_DBS
    )
    services = (
        section("JobManager", "MaxParametricJobs = 5")
        + "\n"
        + section("SandboxStore", f"BasePath = {tmp_path / 'sb'}\nMaxSandboxSizeMiB = 1")
    )
    return "\n".join(
        [
            section("DIRAC", "Setup = Test\n" + section("Setups", section("Test", "WorkloadManagement = Test"))),
            section("Operations", section("Defaults", section("JobScheduling", "MaxRescheduling = 1"))),
            section(
                "Systems",
                section(
                    "WorkloadManagement",
                    section("Test", section("Databases", dbs) + "\n" + section("Services", services)),
                ),
            ),
        ]
    )


@pytest.fixture
def contexts(tmp_path: Path) -> Iterator[dict[str, ComponentContext]]:
    config = Config.from_text(config_text(tmp_path))
    engines: dict[tuple[str, str], Engine] = {}

    def engine_factory(system: str, db_name: str) -> Engine:
        if (system, db_name) not in engines:
            engines[(system, db_name)] = make_engine(
                url_from_section(config, database_section(config, system, db_name))
            )
        return engines[(system, db_name)]

    for name in WMS_DBS:
        schema.init(get_database(name), engine_factory("WorkloadManagement", name))
    try:
        yield {
            name: ComponentContext(
                config, name, f"/Systems/WorkloadManagement/Test/Services/{name.split('/')[1]}", engine_factory
            )
            for name in all_components()
            if name.startswith("WorkloadManagement/")
        }
    finally:
        for engine in engines.values():
            engine.dispose()


@pytest.fixture
def client(contexts: dict[str, ComponentContext]) -> Iterator[TestClient]:
    app = FastAPI()
    for name, ctx in contexts.items():
        component = get_component(name)
        assert component.build_router is not None
        app.include_router(component.build_router(ctx), prefix=f"/api/{name}")

    @app.middleware("http")
    async def test_caller(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        user = request.headers.get("X-Test-User")
        if user:
            request.state.caller = CALLERS[user]
        return await call_next(request)

    @app.exception_handler(DiracError)
    async def dirac_error(_request: Request, exc: DiracError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.http_status)

    with TestClient(app) as test_client:
        yield test_client


def as_(user: str) -> dict[str, str]:
    return {"X-Test-User": user}


JM = "/api/WorkloadManagement/JobManager"
MON = "/api/WorkloadManagement/JobMonitoring"
JSU = "/api/WorkloadManagement/JobStateUpdate"
MATCH = "/api/WorkloadManagement/Matcher"
SB = "/api/WorkloadManagement/SandboxStore"


def test_components_declared_with_dirac_ports() -> None:
    ports = {name: c.default_port for name, c in all_components().items() if name.startswith("WorkloadManagement/")}
    assert ports == {
        "WorkloadManagement/JobManager": 9132,
        "WorkloadManagement/JobMonitoring": 9130,
        "WorkloadManagement/JobStateUpdate": 9136,
        "WorkloadManagement/Matcher": 9170,
        "WorkloadManagement/SandboxStore": 9196,
    }


def test_rest_job_lifecycle(client: TestClient) -> None:
    assert client.post(f"{JM}/jobs", json={"jdl": '[Executable="x";]'}).status_code == 401
    reply = client.post(f"{JM}/jobs", json={"jdl": '[Executable = "x"; CPUTime = 100;]'}, headers=as_("alice"))
    assert reply.status_code == 201, reply.text
    [job_id] = reply.json()["job_ids"]
    assert job_id >= 1000  # MinJobID from the CS
    assert client.get(f"{MON}/jobs/{job_id}", headers=as_("alice")).json()["Status"] == "Waiting"
    assert client.get(f"{MON}/jobs/{job_id}", headers=as_("bob")).status_code == 403
    assert client.get(f"{MON}/jobs/999999", headers=as_("alice")).status_code == 404

    assert client.post(f"{MATCH}/request", json={"CPUTime": 500}, headers=as_("alice")).status_code == 403
    match = client.post(f"{MATCH}/request", json={"CPUTime": 500, "Site": "EGI.A.fr"}, headers=as_("pilot")).json()
    assert match["matched"] and match["job"]["JobID"] == job_id
    assert client.post(f"{MATCH}/request", json={"CPUTime": 500}, headers=as_("pilot")).json() == {
        "matched": False,
        "job": None,
    }
    running = client.put(f"{JSU}/jobs/{job_id}/status", json={"status": "Running"}, headers=as_("pilot"))
    assert running.status_code == 200
    illegal = client.put(f"{JSU}/jobs/{job_id}/status", json={"status": "Waiting"}, headers=as_("pilot"))
    assert illegal.status_code == 409 and "from Running to Waiting" in illegal.json()["detail"]
    assert (
        client.put(
            f"{JSU}/jobs/{job_id}/parameters", json={"parameters": {"HostName": "wn1"}}, headers=as_("pilot")
        ).status_code
        == 200
    )

    assert client.post(f"{JM}/jobs/kill", json={"job_ids": [job_id]}, headers=as_("bob")).status_code == 403
    assert client.post(f"{JM}/jobs/kill", json={"job_ids": [job_id]}, headers=as_("alice")).json() == {
        "job_ids": [job_id]
    }
    beat = client.post(
        f"{JSU}/jobs/{job_id}/heartbeat", json={"dynamic_data": {"CPUConsumed": 3}}, headers=as_("pilot")
    )
    assert beat.json() == {"commands": {"Kill": ""}}

    history = client.get(f"{MON}/jobs/{job_id}/logging", headers=as_("alice")).json()
    assert [h["Status"] for h in history][-3:] == ["Matched", "Running", "Killed"]
    assert client.get(f"{MON}/jobs/{job_id}/parameters", headers=as_("alice")).json() == {"HostName": "wn1"}
    page = client.post(f"{MON}/search", json={"columns": ["JobID", "Status"]}, headers=as_("alice")).json()
    assert page["Records"] == [[job_id, "Killed"]]
    summary = client.post(f"{MON}/summary", json={"group_by": ["Status"]}, headers=as_("admin")).json()
    assert summary == [{"Status": "Killed", "Count": 1}]


def test_rest_bad_requests_are_clear(client: TestClient) -> None:
    bad = client.post(f"{JM}/jobs", json={"jdl": '[\n Executable = "x"\n CPUTime = 1;\n]'}, headers=as_("alice"))
    assert bad.status_code == 400 and "JDL line 2" in bad.json()["detail"]
    too_many = client.post(f"{JM}/jobs", json={"jdl": '[Executable = "x"; Parameters = 6;]'}, headers=as_("alice"))
    assert too_many.status_code == 400 and "limit of 5" in too_many.json()["detail"]
    assert client.post(f"{JM}/jobs", json={"jdl": ""}, headers=as_("alice")).status_code == 422
    assert client.post(f"{JM}/jobs/kill", json={"job_ids": []}, headers=as_("alice")).status_code == 422


def test_rest_sandboxes(client: TestClient) -> None:
    data = make_tar({"run.sh": b"echo hi"})
    digest = hashlib.sha256(data).hexdigest()
    bad = client.post(f"{SB}/sandboxes", params={"checksum": "0" * 64}, content=data, headers=as_("alice"))
    assert bad.status_code == 400 and "checksum mismatch" in bad.json()["detail"]
    big = b"\0" * (1024 * 1024 + 1)
    too_big = client.post(
        f"{SB}/sandboxes", params={"checksum": hashlib.sha256(big).hexdigest()}, content=big, headers=as_("alice")
    )
    assert too_big.status_code == 413 and "MaxSandboxSizeMiB" in too_big.json()["detail"]
    stored = client.post(f"{SB}/sandboxes", params={"checksum": digest}, content=data, headers=as_("alice"))
    assert stored.status_code == 201, stored.text
    location = stored.json()["location"]
    download = client.get(f"{SB}/sandboxes", params={"location": location}, headers=as_("alice"))
    assert download.status_code == 200 and download.content == data
    assert client.get(f"{SB}/sandboxes", params={"location": location}, headers=as_("bob")).status_code == 403
    job = client.post(
        f"{JM}/jobs", json={"jdl": f'[Executable = "run.sh"; InputSandbox = {{"{location}"}};]'}, headers=as_("alice")
    )
    [job_id] = job.json()["job_ids"]
    listed = client.get(f"{SB}/jobs/{job_id}/sandboxes", params={"type": "Input"}, headers=as_("alice")).json()
    assert listed == {"locations": [location]}


def test_rpc_tables_use_dirac_names(contexts: dict[str, ComponentContext]) -> None:
    rpc = {}
    for name, ctx in contexts.items():
        builder = get_component(name).build_rpc
        assert builder is not None
        rpc[name.split("/")[1]] = builder(ctx)
    jm, mon, jsu, matcher = rpc["JobManager"], rpc["JobMonitoring"], rpc["JobStateUpdate"], rpc["Matcher"]
    job_id = jm["submitJob"](ALICE, 'Executable = "x"; CPUTime = 60;')
    assert isinstance(job_id, int)
    assert len(jm["submitJob"](ALICE, '[Executable = "x"; Parameters = 3;]')) == 3
    assert mon["getJobsStatus"](ALICE, [job_id])[job_id]["Status"] == "Waiting"
    with pytest.raises(Forbidden):
        mon["getJobsStatus"](BOB, [job_id])
    # DIRAC's bulk reads leave unknown ids out instead of failing the call.
    assert list(mon["getJobsStatus"](ALICE, [job_id, 424242])) == [job_id]
    assert mon["getJobsStatus"](ALICE, [424242]) == {}
    assert mon["getJobsSites"](ALICE, [job_id]) == {job_id: {"Site": "ANY"}}
    summary = mon["getJobsSummary"](ALICE, [job_id])[job_id]
    assert summary["Owner"] == "alice" and isinstance(summary["SubmissionTime"], str)
    # getJobs: ids as strings (DIRAC's JobDB.selectJobs), only the caller's own jobs.
    assert str(job_id) in mon["getJobs"](ALICE, {"Status": "Waiting"})
    assert str(job_id) not in mon["getJobs"](BOB, {"Status": "Waiting"})
    assert mon["getJobs"](ALICE, {"Status": "Waiting"}, "2999-01-01") == []
    with pytest.raises(Forbidden):
        jm["killJob"](BOB, [job_id])
    with pytest.raises(NotFound):
        mon["getJobAttributes"](ALICE, 424242)
    match = matcher["requestJob"](PILOT, {"CPUTime": 3600, "Site": "EGI.A.fr"})
    assert match["JobID"] == job_id
    jsu["setJobStatus"](PILOT, job_id, "Running", "Application", "JobWrapper", "2030-01-01 10:00:00")
    jsu["setJobParameters"](PILOT, job_id, [["HostName", "wn7"]])
    assert jsu["sendHeartBeat"](PILOT, job_id, {"CPUConsumed": 1.0}, {}) == {}
    jsu["setJobStatus"](PILOT, job_id, "Failed", "Application Finished With Errors", "JobWrapper")
    assert jm["rescheduleJob"](ALICE, [job_id]) == [job_id]
    assert mon["getJobAttribute"](ALICE, job_id, "RescheduleCounter") == 1
    info = mon["getJobLoggingInfo"](ALICE, job_id)
    assert [row[3] for row in info if row[0] == "Running"] == ["2030-01-01 10:00:00"]  # the pilot's time
    assert [row[0] for row in info][:3] == ["Received", "Checking", "Waiting"] and isinstance(info[0][3], str)
    page = mon["getJobPageSummaryWeb"](ALICE, {"Status": ["Waiting"]}, [["JobID", "ASC"]], 0, 10)
    assert page["TotalRecords"] == 4 and isinstance(page["Records"][0][8], str)
    assert mon["getJobStats"](ADMIN, "Status", {}) == {"Waiting": 4}
    assert mon["getJobStates"](ALICE) == ["Waiting"]
    assert mon["getCounters"](ALICE, ["Owner"], {}) == [[{"Owner": "alice"}, 4]]
    assert jm["getMaxParametricJobs"](ALICE) == 5
    with pytest.raises(NotFound, match="No match found"):
        matcher["requestJob"](PILOT, {"CPUTime": 10, "Site": "EGI.A.fr"})
    assert rpc["SandboxStore"]["getSandboxesAssignedToJob"](ALICE, job_id) == []


def test_rest_idempotency_key_makes_a_retry_return_the_first_job_ids(client: TestClient) -> None:
    body = {"jdl": '[Executable = "x"; CPUTime = 100;]', "copies": 3}
    key = {"Idempotency-Key": "3f2c9a1e-batch-1"}
    first = client.post(f"{JM}/jobs", json=body, headers={**as_("alice"), **key})
    again = client.post(f"{JM}/jobs", json=body, headers={**as_("alice"), **key})
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json() and len(first.json()["job_ids"]) == 3
    other = client.post(f"{JM}/jobs", json={**body, "copies": 2}, headers={**as_("alice"), **key})
    assert other.status_code == 409 and "Idempotency-Key" in other.json()["detail"]
    page = client.post(f"{MON}/search", json={"columns": ["JobID"]}, headers=as_("alice")).json()
    assert page["TotalRecords"] == 3
    for bad in ("x" * 129, "two words", "a/b"):
        refused = client.post(f"{JM}/jobs", json=body, headers={**as_("alice"), "Idempotency-Key": bad})
        assert refused.status_code == 422 and "Idempotency-Key" in refused.text, bad


def test_rpc_submit_job_keeps_dirac_shapes_and_takes_a_key(contexts: dict[str, ComponentContext]) -> None:
    builder = get_component("WorkloadManagement/JobManager").build_rpc
    assert builder is not None
    jm = builder(contexts["WorkloadManagement/JobManager"])
    submit = MethodArguments("submitJob", jm["submitJob"])
    jdl = '[Executable = "x"; CPUTime = 60;]'
    assert isinstance(jm["submitJob"](ALICE, *submit.validate(ALICE, [jdl])), int)  # DIRAC: submitJob(jdl)
    assert isinstance(jm["submitJob"](ALICE, *submit.validate(ALICE, [jdl, "jdl"])), int)  # and (jdl, format)
    with pytest.raises(BadRequest, match="JDL only"):
        jm["submitJob"](ALICE, jdl, "json")
    first = jm["submitJob"](ALICE, *submit.validate(ALICE, [jdl, None, "rpc-key-1"]))
    assert jm["submitJob"](ALICE, jdl, None, "rpc-key-1") == first
    copies = MethodArguments("submitJobCopies", jm["submitJobCopies"])
    ids = jm["submitJobCopies"](ALICE, *copies.validate(ALICE, [jdl, 2, "rpc-key-2"]))
    assert jm["submitJobCopies"](ALICE, jdl, 2, "rpc-key-2") == ids and len(ids) == 2
    for bad in ("k" * 129, "", 7, "a/b"):
        with pytest.raises(BadRequest, match="idempotency_key"):
            submit.validate(ALICE, [jdl, "jdl", bad])
