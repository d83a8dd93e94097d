"""The pilot loop against a scripted gateway (unit edge), and the HTTPS gateway's pure helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dirac_core.accounting_types import JOB
from dirac_core.errors import Conflict, Forbidden, ServiceUnavailable
from dirac_core.pilot.accounting import accounting_register
from dirac_core.pilot.executor import Heartbeat
from dirac_core.pilot.gateway import MatchedJob, ResourceDescription
from dirac_core.pilot.https_gateway import matched_job
from dirac_core.pilot.loop import PilotSettings, run_pilot


class ScriptedGateway:
    """Hands out the given jobs; refuses the first status report of jobs listed in `killed_before_start`."""

    def __init__(self, jobs: list[MatchedJob], killed_before_start: set[int]) -> None:
        self.jobs = list(jobs)
        self.killed = killed_before_start
        self.reports: list[tuple[int, str, str]] = []
        self.accounting: list[dict[str, Any]] = []

    def request_job(self, resource: ResourceDescription) -> MatchedJob | None:
        return self.jobs.pop(0) if self.jobs else None

    def download_input_sandbox(self, job_id: int, destination: Path) -> None:
        (destination / "run.sh").write_text("#!/bin/sh\necho $DIRACJOBID > out.txt\n")

    def set_status(self, job_id: int, status: str, minor_status: str, application_status: str = "") -> None:
        if job_id in self.killed:
            raise Conflict(f"job {job_id} cannot go from Killed to {status}")
        self.reports.append((job_id, status, minor_status))

    def heartbeat(self, job_id: int, beat: Heartbeat) -> list[str]:
        return []

    def set_parameters(self, job_id: int, parameters: dict[str, str]) -> None:
        pass

    def upload_output_sandbox(self, job_id: int, files: list[Path]) -> None:
        assert [f.name for f in files] == ["out.txt"]
        assert files[0].read_text() == f"{job_id}\n"

    def commit_job_accounting(self, job: MatchedJob, record: dict[str, Any]) -> None:
        self.accounting.append(record)


def test_job_killed_before_start_is_abandoned_and_the_pilot_goes_on(tmp_path: Path) -> None:
    jobs = [MatchedJob(job_id, "run.sh", output_sandbox=("out.txt",), site="S") for job_id in (1, 2)]
    gateway = ScriptedGateway(jobs, killed_before_start={1})
    settings = PilotSettings(ResourceDescription("S"), tmp_path, heartbeat_seconds=1)
    results = run_pilot(gateway, settings)
    assert [(job_id, outcome.reason) for job_id, outcome in results] == [(1, "abandoned"), (2, "completed")]
    assert gateway.reports[-1] == (2, "Done", "Execution Complete")
    assert [record["FinalMajorStatus"] for record in gateway.accounting] == ["Done"]
    assert list(tmp_path.iterdir()) == []  # job directories removed


def test_matched_job_reads_the_jdl_and_accounting_register_has_dirac_fields() -> None:
    match = {
        "JobID": 7,
        "JDL": '[Executable = "a.sh"; Arguments = "-n 3"; CPUTime = 100; OutputSandbox = {"*.txt"};'
        ' JobGroup = "g"; Owner = "alice";]',
        "Owner": "alice",
        "Group": "dirac_user",
        "PilotID": 3,
    }
    job = matched_job(match, "EGI.A.fr")
    assert (job.executable, job.arguments, job.cpu_time, job.wall_time) == ("a.sh", "-n 3", 100, 200)
    assert job.output_sandbox == ("*.txt",) and (job.owner, job.owner_group, job.site) == (
        "alice",
        "dirac_user",
        "EGI.A.fr",
    )
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    record = {
        "User": "alice",
        "UserGroup": "dirac_user",
        "Site": "EGI.A.fr",
        "FinalMajorStatus": "Done",
        "FinalMinorStatus": "completed",
        "CPUTime": 12.7,
        "ExecTime": 60.2,
        "startTime": start,
        "endTime": end,
    }
    kind, begin, finish, values = accounting_register(job, record)
    assert (kind, begin, finish) == ("Job", start.replace(tzinfo=None), end.replace(tzinfo=None))
    assert len(values) == len(JOB.key_names) + len(JOB.value_fields)
    assert values[: len(JOB.key_names)] == [
        "alice",
        "dirac_user",
        "g",
        "User",
        "unknown",
        "unknown",
        "EGI.A.fr",
        "Done",
        "completed",
    ]
    assert values[len(JOB.key_names) : len(JOB.key_names) + 3] == [12, 12, 60]  # CPUTime, NormCPUTime, ExecTime


class FlakyMatcherGateway(ScriptedGateway):
    """A Matcher that fails the first `failures` match requests with `error`."""

    def __init__(self, jobs: list[MatchedJob], failures: int, error: Exception) -> None:
        super().__init__(jobs, killed_before_start=set())
        self.failures = failures
        self.error = error
        self.match_calls = 0

    def request_job(self, resource: ResourceDescription) -> MatchedJob | None:
        self.match_calls += 1
        if self.match_calls <= self.failures:
            raise self.error
        return super().request_job(resource)


def test_a_failing_matcher_is_asked_again_and_the_pilot_runs_the_job(tmp_path: Path) -> None:
    jobs = [MatchedJob(5, "run.sh", output_sandbox=("out.txt",), site="S")]
    gateway = FlakyMatcherGateway(jobs, failures=2, error=ServiceUnavailable("Matcher unreachable"))
    settings = PilotSettings(ResourceDescription("S"), tmp_path, heartbeat_seconds=1, match_retry_seconds=0.01)
    results = run_pilot(gateway, settings)
    assert [(job_id, outcome.reason) for job_id, outcome in results] == [(5, "completed")]
    assert gateway.match_calls == 4  # 2 failures, the job, the empty match that ends the pilot


def test_a_matcher_that_keeps_failing_or_refuses_ends_the_pilot_with_its_error(tmp_path: Path) -> None:
    settings = PilotSettings(ResourceDescription("S"), tmp_path, match_attempts=3, match_retry_seconds=0.01)
    down = FlakyMatcherGateway([], failures=10, error=ServiceUnavailable("Matcher unreachable"))
    with pytest.raises(ServiceUnavailable):
        run_pilot(down, settings)
    assert down.match_calls == 3
    refused = FlakyMatcherGateway([], failures=10, error=Forbidden("not a pilot"))
    with pytest.raises(Forbidden):
        run_pilot(refused, settings)
    assert refused.match_calls == 1  # a 4xx is final: asking again cannot help
