"""DIRAC's Tornado SandboxStore methods (streamFromClient/streamToClient, entities) and JobManager's bulk
confirmation (confirmBulkSubmission, removeJob), through the RPC tables on real databases and a real directory."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from dirac_core.services.arguments import MethodArguments
from dirac_core.services.component import ComponentContext
from dirac_core.services.installed import get_component

from .conftest import ADMIN, ALICE, BOB, PILOT
from .test_sandbox_store import make_tar
from .test_services import contexts  # noqa: F401  (the fixture)


def tables(contexts: dict[str, ComponentContext]) -> dict[str, dict[str, Any]]:  # noqa: F811
    out = {}
    for name, ctx in contexts.items():
        builder = get_component(name).build_rpc
        assert builder is not None
        out[name.split("/")[1]] = builder(ctx)
    return out


def md5_name(data: bytes) -> str:
    return f"{hashlib.md5(data, usedforsecurity=False).hexdigest()}.tar.bz2"  # DIRAC's naming, not security


def test_stream_from_client_stores_and_stream_to_client_returns_it(
    contexts: dict[str, ComponentContext],  # noqa: F811
) -> None:
    sb, jm = tables(contexts)["SandboxStore"], tables(contexts)["JobManager"]
    data = make_tar({"input.txt": b"hello sandbox\n"})
    upload = MethodArguments("streamFromClient", sb["streamFromClient"])
    location = sb["streamFromClient"](ALICE, *upload.validate(ALICE, [md5_name(data), "", len(data), data]))
    assert location.startswith("SB:ProductionSandboxSE|/egi/egi_user/alice/") and location.endswith(".tar")
    # Again with DIRAC's [name, assignTo] form and no assignment: the same sandbox (stored once).
    assert sb["streamFromClient"](ALICE, [md5_name(data), {}], "", len(data), data) == location
    pfn = location.partition("|")[2]
    # DIRAC's DIPStorage names the file by the SE URL; a bare path and the SB: form work too.
    for file_id in (f"https://sb.example.org:8443/WorkloadManagement/SandboxStore/{pfn}", pfn, location):
        assert sb["streamToClient"](ALICE, file_id, "CheckSum") == data
    with pytest.raises(Forbidden):
        sb["streamToClient"](BOB, location)
    with pytest.raises(BadRequest, match="SB:<SE>"):
        sb["streamToClient"](ALICE, "relative/name.tar")

    job_id = jm["submitJob"](ALICE, f'[Executable = "x"; InputSandbox = {{"{location}"}};]')
    assert sb["getSandboxesAssignedToEntity"](ALICE, f"Job:{job_id}") == {"Input": [location]}
    assert sb["getSandboxesAssignedToJob"](ALICE, job_id) == [location]  # the older name and shape
    with pytest.raises(Forbidden):
        sb["getSandboxesAssignedToEntity"](BOB, f"Job:{job_id}")
    with pytest.raises(BadRequest, match="Job:<JobID>"):
        sb["getSandboxesAssignedToEntity"](ALICE, "Pilot:7")

    # A pilot sends the output sandbox assigned to the job (DIRAC's JobWrapper: {"Job:<id>": "Output"}).
    out = make_tar({"std.out": b"done\n"})
    out_location = sb["streamFromClient"](PILOT, [md5_name(out), {f"Job:{job_id}": "Output"}], "", len(out), out)
    assigned = sb["getSandboxesAssignedToEntity"](ALICE, f"Job:{job_id}")
    assert assigned == {"Input": [location], "Output": [out_location]}
    assert sb["streamToClient"](ALICE, out_location) == out


def test_stream_from_client_refuses_bad_uploads_and_stores_nothing(
    contexts: dict[str, ComponentContext],  # noqa: F811
) -> None:
    sb = tables(contexts)["SandboxStore"]
    data = make_tar({"a": b"x"})
    upload = MethodArguments("streamFromClient", sb["streamFromClient"])
    with pytest.raises(BadRequest, match="Hashes don't match"):
        sb["streamFromClient"](ALICE, md5_name(b"other"), "", len(data), data)
    with pytest.raises(BadRequest, match="announced"):
        sb["streamFromClient"](ALICE, md5_name(data), "", len(data) + 1, data)
    with pytest.raises(PayloadTooLarge, match="MaxSandboxSizeMiB"):  # the test config: 1 MiB
        sb["streamFromClient"](ALICE, md5_name(data), "", 2 * 1024 * 1024, data)
    with pytest.raises(BadRequest, match="md5"):
        sb["streamFromClient"](ALICE, "../../etc/passwd", "", len(data), data)
    with pytest.raises(BadRequest, match="fileId"):
        sb["streamFromClient"](ALICE, [md5_name(data), "Job:1"], "", len(data), data)
    with pytest.raises(BadRequest, match="Invalid sandbox type"):
        sb["streamFromClient"](PILOT, [md5_name(data), {"Job:1": "Log"}], "", len(data), data)
    not_tar = b"plain text, not a tar"
    with pytest.raises(BadRequest, match="not a tar"):
        sb["streamFromClient"](ALICE, md5_name(not_tar), "", len(not_tar), not_tar)
    with pytest.raises(Forbidden):  # a user assigns through submission, not to an arbitrary job
        sb["streamFromClient"](ALICE, [md5_name(data), {"Job:1": "Input"}], "", len(data), data)
    with pytest.raises(BadRequest, match="data"):  # the file must come as bytes, not text
        upload.validate(ALICE, [md5_name(data), "", len(data), data.decode("latin-1")])
    root = contexts["WorkloadManagement/SandboxStore"].config.get(
        "/Systems/WorkloadManagement/Test/Services/SandboxStore/BasePath"
    )
    assert [p for p in Path(root).rglob("*.tar")] == []


def test_bulk_confirmation_and_removal(contexts: dict[str, ComponentContext]) -> None:  # noqa: F811
    rpc = tables(contexts)
    jm, mon = rpc["JobManager"], rpc["JobMonitoring"]
    ids = jm["submitJob"](ALICE, '[Executable = "x"; Parameters = 3;]')
    assert len(ids) == 3
    # Already Waiting (all-or-nothing submission): confirming returns the ids, changes nothing.
    assert jm["confirmBulkSubmission"](ALICE, ids) == ids
    assert {v["Status"] for v in mon["getJobsStatus"](ALICE, ids).values()} == {"Waiting"}
    with pytest.raises(Forbidden):
        jm["confirmBulkSubmission"](BOB, ids)
    with pytest.raises(NotFound):
        jm["confirmBulkSubmission"](ALICE, [*ids, 424242])
    jm["killJob"](ALICE, ids[:1])
    with pytest.raises(Conflict, match="not valid"):
        jm["confirmBulkSubmission"](ALICE, ids)

    with pytest.raises(Forbidden):
        jm["removeJob"](BOB, ids)
    assert jm["removeJob"](ALICE, ids) == ids
    assert mon["getJobsStatus"](ALICE, ids) == {}
    assert mon["getJobs"](ADMIN, {"Owner": "alice"}) == []
    with pytest.raises(NotFound):
        jm["removeJob"](ALICE, ids)

    held = jm["submitJob"](ALICE, '[Executable = "x"; CPUTime = 60;]')
    assert rpc["Matcher"]["requestJob"](PILOT, {"CPUTime": 3600, "Site": "EGI.A.fr"})["JobID"] == held
    with pytest.raises(Conflict, match="kill them first"):
        jm["removeJob"](ALICE, [held])
    assert mon["getJobsStatus"](ALICE, [held])[held]["Status"] == "Matched"
