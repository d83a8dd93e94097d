"""Jobs run by real pilots (`dirac-core pilot` over HTTPS) appear in accounting reports with the right totals.

Every WMS service, Framework/Auth, DataStore and ReportGenerator run as `dirac-core serve` processes;
users submit with `JobsClient`; two pilots at two sites run the jobs and commit a Job record each
through the pilot's HTTPS gateway (DataStore.commitRegisters).
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("dirac_core.pilot.https_gateway", reason="needs the HTTPS pilot (WMS integration branch)")

from dirac_core.client.accounting import DATA_STORE, REPORT_GENERATOR, AccountingClient
from dirac_core.client.jobs import JobsClient  # type: ignore[import-not-found, unused-ignore]
from tests.support.instance import DIRAC_CORE, ROOT, LocalInstance, running_instance, subprocess_env

from .test_services import _wait_for

WMS = [
    "Framework/Auth",
    "WorkloadManagement/JobManager",
    "WorkloadManagement/JobMonitoring",
    "WorkloadManagement/JobStateUpdate",
    "WorkloadManagement/Matcher",
    "WorkloadManagement/SandboxStore",
]
FAST_BUCKETING = {
    "Systems": {"Accounting": {"Local": {"Services": {"DataStore": {"BucketingInterval": 1, "BucketingLease": 10}}}}}
}
OK_SH = "#!/bin/sh\necho fine\n"
FAIL_SH = "#!/bin/sh\nexit 3\n"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp = tmp_path_factory.mktemp("acc-e2e")
    with running_instance(
        tmp,
        [*WMS, DATA_STORE, REPORT_GENERATOR],
        extra_cfg=FAST_BUCKETING,
        before_start=[["dirac-core", "db", "init"]],
    ) as inst:
        yield inst


def _jdl(directory: Path, name: str, script: str, group: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.sh").write_text(script)
    path = directory / f"{name}.jdl"
    path.write_text(
        f'[Executable = "{name}.sh"; InputSandbox = {{"{name}.sh"}}; JobName = "{name}"; '
        f'JobGroup = "{group}"; CPUTime = 600;]'
    )
    return path


def _pilot(inst: LocalInstance, site: str, *extra: str) -> int:
    cert, key = inst.host_cert("pilot.localhost")
    command = [DIRAC_CORE, "pilot", "--site", site, "--cfg", str(inst.cfg_file), "--cert", cert, "--key", key]
    done = subprocess.run(
        [*command, "--log-level", "warning", *extra],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=ROOT,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split(": ")[1].split()[0])  # "pilot ... at SITE: N job(s): ..."


def test_jobs_run_by_pilots_appear_in_reports(instance: LocalInstance, tmp_path: Path) -> None:
    inst = instance
    started = datetime.now(UTC) - timedelta(minutes=5)
    with (
        JobsClient(inst.cfg_file, token=inst.token("alice")) as alice,
        JobsClient(inst.cfg_file, token=inst.token("bob")) as bob,
    ):
        ids = alice.submit(_jdl(tmp_path / "a", "ok", OK_SH, "analysis"), bulk=3)
        ids += alice.submit(_jdl(tmp_path / "a", "fail", FAIL_SH, "analysis"))
        ids += bob.submit(_jdl(tmp_path / "b", "ok", OK_SH, "simulation"), bulk=2)
        ran_a = _pilot(inst, "EGI.SiteA.fr", "--max-jobs", "4")
        ran_b = _pilot(inst, "EGI.SiteB.de")
        assert (ran_a, ran_b) == (4, 2)
        with JobsClient(inst.cfg_file, token=inst.token("admin", "dirac_admin")) as admin:
            params = {job_id: admin.parameters(job_id) for job_id in ids}
    cpu = [float(p["CPUConsumed"]) for p in params.values()]

    end = datetime.now(UTC) + timedelta(minutes=5)
    with AccountingClient(report_generator=inst.client(REPORT_GENERATOR, user="bob")) as reports:

        def by(group: str) -> dict[str, Any]:
            rows = reports.summary("Job", group, started, end)["rows"]
            return {r[next(iter(r))]: r["entries"] for r in rows}

        assert _wait_for(lambda: by("site"), {"EGI.SiteA.fr": 4, "EGI.SiteB.de": 2}) == {
            "EGI.SiteA.fr": 4,
            "EGI.SiteB.de": 2,
        }
        assert by("user") == {"alice": 4, "bob": 2}
        assert by("status") == {"Done": 5, "Failed": 1}
        assert by("JobGroup") == {"analysis": 4, "simulation": 2}
        totals = reports.summary("Job", "UserGroup", started, end)["rows"]
        assert [(r["UserGroup"], r["entries"]) for r in totals] == [("dirac_user", 6)]
        # The pilot's gateway sends whole CPU seconds of what it measured (the CPUConsumed parameter).
        assert sum(math.floor(c) for c in cpu) <= totals[0]["CPUTime"] <= sum(math.ceil(c) for c in cpu)

    with inst.http() as http:  # the DataStore saw the pilot, nobody else
        assert http.get(f"{inst.base_url(DATA_STORE)}/health").json()["status"] == "ok"
