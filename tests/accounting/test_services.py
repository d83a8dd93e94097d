"""Accounting through real HTTPS processes: pilots commit Job records, reports and plots show them."""

from __future__ import annotations

import io
import json
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from dirac_core.accounting.plots import read_plot_description
from dirac_core.client.accounting import DATA_STORE, REPORT_GENERATOR, AccountingClient, DataOperationRecorder
from dirac_core.client.http import ServiceClient
from dirac_core.client.login import StoredToken, save_token
from dirac_core.config.cfg import Config
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.db.engine import make_engine
from dirac_core.errors import BadRequest, NotFound, Unauthorized
from dirac_core.pilot.accounting import accounting_register
from dirac_core.pilot.executor import Outcome
from dirac_core.pilot.gateway import MatchedJob
from dirac_core.pilot.loop import _commit_accounting
from dirac_core.services.catalog_recorder import catalog_recorder
from dirac_core.services.component import ComponentContext
from tests.support.instance import DIRAC_CORE, ROOT, LocalInstance, running_instance, subprocess_env

FAST_BUCKETING = {
    "Systems": {"Accounting": {"Local": {"Services": {"DataStore": {"BucketingInterval": 1, "BucketingLease": 10}}}}}
}
# (job id, owner, site, outcome reason, CPU seconds)
JOBS = [
    (1, "alice", "LCG.CERN.ch", "completed", 120.0),
    (2, "alice", "LCG.CERN.ch", "completed", 80.0),
    (3, "bob", "LCG.IN2P3.fr", "failed", 30.5),
    (4, "bob", "LCG.CERN.ch", "killed", 10.0),
    (5, "alice", "LCG.PIC.es", "completed", 45.0),
]


class PilotGateway:
    """The accounting part of a pilot's HTTPS gateway (same register, over this test's client)."""

    def __init__(self, client: AccountingClient) -> None:
        self.client = client

    def commit_job_accounting(self, job: MatchedJob, record: dict[str, Any]) -> None:
        self.client.commit_registers([accounting_register(job, record)])


def _wait_for(probe: Any, expected: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def _raw_count(inst: LocalInstance, type_name: str) -> int:
    url = inst.config.get("/Systems/Accounting/Local/Databases/AccountingDB/URL")
    db = AccountingDB(make_engine(url))
    try:
        tables = db.tables("DIRAC-Local", type_name)
        with db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(tables.records)).scalar_one())
    finally:
        db.engine.dispose()


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("accounting")
    with running_instance(
        tmp,
        [DATA_STORE, REPORT_GENERATOR],
        extra_cfg=FAST_BUCKETING,
        before_start=[["dirac-core", "db", "init"]],
    ) as inst:
        yield inst


def test_pilot_jobs_appear_in_reports(instance: LocalInstance, tmp_path: Path) -> None:
    inst = instance
    started = datetime.now(UTC) - timedelta(minutes=10)
    with ServiceClient(inst.url(DATA_STORE), token=inst.pilot_token(), ca_bundle=inst.ca_file) as store:
        gateway = PilotGateway(AccountingClient(store))
        for job_id, owner, site, reason, cpu in JOBS:
            job = MatchedJob(job_id, "run.sh", owner=owner, owner_group="dirac_user", site=site)
            _commit_accounting(gateway, job, Outcome(0, reason, cpu, cpu * 2), started)  # type: ignore[arg-type]

    start, end = started - timedelta(hours=2), datetime.now(UTC) + timedelta(hours=2)
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="bob")) as reports:

        def totals() -> dict[str, tuple[float, float]]:
            rows = reports.summary("Job", "site", start, end)["rows"]
            return {r["Site"]: (r["entries"], r["CPUTime"]) for r in rows}

        # commitRegisters carries whole seconds (DIRAC's register shape): job 3's 30.5 s count as 30.
        expected = {"LCG.CERN.ch": (3, 210.0), "LCG.IN2P3.fr": (1, 30.0), "LCG.PIC.es": (1, 45.0)}
        assert _wait_for(totals, expected) == expected  # bucketed by the DataStore within seconds

        by_status = {r["FinalMajorStatus"]: r["entries"] for r in reports.summary("Job", "status", start, end)["rows"]}
        assert by_status == {"Done": 3, "Failed": 1, "Killed": 1}
        by_user = {r["User"]: r["ExecTime"] for r in reports.summary("Job", "user", start, end)["rows"]}
        assert by_user == {"alice": 490.0, "bob": 81.0}
        cern = reports.summary("Job", "user", start, end, {"Site": ["LCG.CERN.ch"]})["rows"]
        assert {r["User"]: r["entries"] for r in cern} == {"alice": 2, "bob": 1}

        csv_lines = reports.summary_csv("Job", "site", start, end).splitlines()
        assert csv_lines[0].startswith("Site,entries,CPUTime,NormCPUTime,ExecTime,")
        assert csv_lines[1].startswith("LCG.CERN.ch,3,210,210,420,")

        png = reports.plot("Job", "site", start, end, value="CPUTime")
        Image.open(io.BytesIO(png)).verify()
        series = read_plot_description(png)["series"]
        assert {site: round(sum(v), 6) for site, v in series.items()} == {s: c for s, (_n, c) in expected.items()}

    # DIRAC RPC: getReport, generateDelayedPlot + streamToClient
    with inst.client(REPORT_GENERATOR, user="alice") as rpc:
        request = {
            "typeName": "Job",
            "reportName": "NumberOfJobs",
            "grouping": "Site",
            "startTime": start.replace(tzinfo=None),
            "endTime": end.replace(tzinfo=None),
            "condDict": {},
        }
        report = rpc.rpc("getReport", request)
        assert {site: sum(v.values()) for site, v in report["data"].items()} == {
            s: n for s, (n, _c) in expected.items()
        }
        plot = rpc.rpc("generateDelayedPlot", request)
        out = tmp_path / "plot.png"
        assert rpc.receive_file(out, plot["plot"]) > 1000
        Image.open(out).verify()


def test_pilot_gateway_commit_registers_shape(instance: LocalInstance) -> None:
    """What the HTTPS pilot gateway sends: RPC commitRegisters, naive UTC datetimes, empty JobGroup, pilot cert."""
    inst = instance
    end = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    start = end - timedelta(seconds=90)
    values = ["alice", "dirac_user", "", "User", "Single", "unknown", "LCG.Gateway.org", "Done", "completed"]
    values += [42, 42, 90, 0, 0, 0, 0, 0, 0, 0, 0]
    with inst.client(DATA_STORE, cert=inst.host_cert("pilot.localhost")) as pilot:
        assert pilot.rpc("commitRegisters", [["Job", start, end, values]]) == 1
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="alice")) as reports:

        def gateway_site() -> list[tuple[float, float]]:
            rows = reports.summary(
                "Job", "site", start - timedelta(hours=2), end + timedelta(hours=2), {"Site": "LCG.Gateway.org"}
            )["rows"]
            return [(r["entries"], r["CPUTime"]) for r in rows]

        assert _wait_for(gateway_site, [(1, 42)]) == [(1, 42)]


def test_bad_input_is_refused_over_https(instance: LocalInstance) -> None:
    inst = instance
    before = _raw_count(inst, "Job")
    now = int(time.time())
    good = {
        "User": "u",
        "UserGroup": "g",
        "JobGroup": "j",
        "JobType": "User",
        "JobClass": "c",
        "ProcessingType": "p",
        "Site": "S",
        "FinalMajorStatus": "Done",
        "FinalMinorStatus": "ok",
        "CPUTime": 1,
        "startTime": now - 10,
        "endTime": now,
    }
    with AccountingClient(inst.client(DATA_STORE, user="alice")) as client:
        with pytest.raises(NotFound, match="unknown accounting type 'Jobs'"):
            client.commit("Jobs", [good])
        with pytest.raises(BadRequest, match="record 1: missing key field 'Site'"):
            client.commit("Job", [good, {k: v for k, v in good.items() if k != "Site"}])
        with pytest.raises(BadRequest, match="value field 'CPUTime' must be a finite number >= 0"):
            client.commit("Job", [{**good, "CPUTime": -3}])
        with pytest.raises(BadRequest, match="endTime is before startTime"):
            client.commit("Job", [{**good, "endTime": now - 100}])
        with pytest.raises(BadRequest, match="valuesList has 20 items"):
            client.commit_registers([["Job", datetime.now(UTC), datetime.now(UTC), ["too", "short"]]])
    with inst.http() as http:  # raw status codes
        url = f"{inst.base_url(DATA_STORE)}/api/{DATA_STORE}/records"
        headers = {"Authorization": f"Bearer {inst.token('alice')}"}
        reply = http.post(url, json={"type": "Job", "records": [{**good, "CPUTime": -1}]}, headers=headers)
        assert reply.status_code == 400 and "CPUTime" in reply.json()["detail"]
        assert http.post(url, json={"type": "Job", "records": [good]}).status_code == 401
        report_url = f"{inst.base_url(REPORT_GENERATOR)}/api/{REPORT_GENERATOR}/summary"
        body = {"type": "Job", "group_by": "site", "start": now, "end": now - 1}
        reply = http.post(report_url, json=body, headers=headers)
        assert reply.status_code == 400 and "not after its start" in reply.json()["detail"]
    assert _raw_count(inst, "Job") == before  # nothing written by any refused call
    with pytest.raises(Unauthorized), ServiceClient(inst.url(DATA_STORE), ca_bundle=inst.ca_file) as anonymous:
        anonymous.rpc("commitRegisters", [])


def test_catalog_operations_and_cli(instance: LocalInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inst = instance
    with AccountingClient(inst.client(DATA_STORE, user="admin", group="dirac_admin")) as client:
        recorder = DataOperationRecorder(client.commit, batch_size=3, site="DIRAC.Local.local")
        recorder.record("addFile", "alice", "dirac_user", "SE-A", 10, 1000, 10, 0)
        recorder.record("addReplica", "alice", "dirac_user", "SE-B", 4, 400, 3, 1)
        assert recorder.pending == 2
        recorder.record("removeFile", "bob", "dirac_user", "SE-A", 2, 0, 2, 0)  # third: batch sent
        assert recorder.pending == 0 and recorder.sent == 3
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(hours=1)
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="alice")) as reports:

        def ops() -> dict[str, float]:
            rows = reports.summary("DataOperation", "operation", start, end)["rows"]
            return {r["OperationType"]: r["TransferSize"] for r in rows}

        assert _wait_for(ops, {"addFile": 1000, "addReplica": 400, "removeFile": 0}) == {
            "addFile": 1000,
            "addReplica": 400,
            "removeFile": 0,
        }

    # `dirac accounting report` as a user: token file + client cfg, CSV out and a PNG plot.
    token_file = tmp_path / "token"
    save_token(StoredToken(inst.token("alice"), time.time() + 3600, "dirac_user", "alice", "x"), token_file)
    plot = tmp_path / "jobs.png"
    args = [
        "accounting",
        "report",
        "DataOperation",
        "--group-by",
        "user",
        "--format",
        "csv",
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--plot",
        str(plot),
        "--cfg",
        str(inst.cfg_file),
    ]
    env = {**subprocess_env(), "DIRAC_TOKEN_FILE": str(token_file)}
    dirac = str(Path(DIRAC_CORE).with_name("dirac"))
    done = subprocess.run([dirac, *args], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("User,entries,TransferSize,")
    assert sorted(lines[1:]) == sorted(["alice,2,1400,0,0,13,14,13,14", "bob,1,0,0,0,2,2,2,2"])
    described = read_plot_description(plot.read_bytes())
    assert {u: sum(v) for u, v in described["series"].items()} == {"alice": 2, "bob": 1}
    json_run = subprocess.run(
        [dirac, *args[:5], "--format", "json", *args[7:11], "--cfg", str(inst.cfg_file)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    assert json_run.returncode == 0, json_run.stderr
    assert {r["User"] for r in json.loads(json_run.stdout)["rows"]} == {"alice", "bob"}


def test_catalog_recorder_factory(instance: LocalInstance, tmp_path: Path) -> None:
    """``OperationRecorder = dirac_core.services.catalog_recorder:catalog_recorder`` in a catalog service."""
    inst = instance
    extra = tmp_path / "catalog.cfg"
    extra.write_text(
        "LocalSite\n{\n  Site = DIRAC.Catalog.org\n}\nSystems\n{\n  DataManagement\n  {\n    Local\n    {\n"
        "      Services\n      {\n        FileCatalog\n        {\n          AccountingFlushSeconds = 0.5\n"
        "        }\n      }\n    }\n  }\n}\n"
    )
    config = Config.from_files([inst.cfg_file, extra])
    section = "/Systems/DataManagement/Local/Services/FileCatalog"
    ctx = ComponentContext(config, "DataManagement/FileCatalog", section, engine_factory=lambda *_a: None)  # type: ignore[arg-type,return-value]
    recorder = catalog_recorder(ctx)
    recorder.record("mkdir", "bob", "dirac_user", "", 1, 0, 1, 0)
    recorder.record("addFile", "bob", "dirac_user", "SE-C", 3, 300, 3, 0)
    start, end = datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1)
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="alice")) as reports:

        def at_catalog_site() -> dict[str, float]:
            rows = reports.summary("DataOperation", "operation", start, end, {"ExecutionSite": "DIRAC.Catalog.org"})
            return {r["OperationType"]: r["TransferTotal"] for r in rows["rows"]}

        assert _wait_for(at_catalog_site, {"addFile": 3, "mkdir": 1}) == {"addFile": 3, "mkdir": 1}
    assert recorder.pending == 0 and recorder.sent == 2
    recorder.close()
