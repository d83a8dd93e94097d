"""The pilot loop: match, prepare, run, report — one job at a time until no work is left."""

from __future__ import annotations

import fnmatch
import logging
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dirac_core.errors import DiracError
from dirac_core.pilot.executor import Heartbeat, Outcome, Payload, run_payload
from dirac_core.pilot.gateway import MatchedJob, ResourceDescription, WorkloadGateway

log = logging.getLogger(__name__)

KILL_COMMAND = "Kill"


@dataclass(frozen=True)
class PilotSettings:
    resource: ResourceDescription
    work_dir: Path
    heartbeat_seconds: float = 30.0
    max_jobs: int = 0  # 0 = until no job matches
    idle_polls: int = 1  # how many empty matches before the pilot exits
    idle_sleep_seconds: float = 2.0
    keep_work_dirs: bool = False
    match_attempts: int = 4  # a Matcher that answers 5xx or not at all is asked again, with a growing pause
    match_retry_seconds: float = 2.0


def run_pilot(gateway: WorkloadGateway, settings: PilotSettings) -> list[tuple[int, Outcome]]:
    """Run jobs until none match (or max_jobs); returns what happened to each job."""
    done: list[tuple[int, Outcome]] = []
    idle = 0
    while not settings.max_jobs or len(done) < settings.max_jobs:
        job = _request_job(gateway, settings)
        if job is None:
            idle += 1
            if idle >= settings.idle_polls:
                break
            time.sleep(settings.idle_sleep_seconds)
            continue
        idle = 0
        try:
            outcome = run_one_job(gateway, job, settings)
        except DiracError as exc:
            # The WMS refused a report (job killed or deleted meanwhile, ...): give up this job, not the pilot.
            log.warning("job %s abandoned: %s", job.job_id, exc)
            outcome = Outcome(None, "abandoned", 0.0, 0.0)
        done.append((job.job_id, outcome))
    return done


def _request_job(gateway: WorkloadGateway, settings: PilotSettings) -> MatchedJob | None:
    """A match, asked again after a server-side or transport error: a busy or restarting Matcher must not
    end the pilot (the Matcher puts a job whose match failed back into its queue). 4xx errors are final."""
    for attempt in range(1, settings.match_attempts + 1):
        try:
            return gateway.request_job(settings.resource)
        except DiracError as exc:
            if exc.http_status < 500 or attempt == settings.match_attempts:
                raise
            log.warning("match request failed (%s), asking again (%d/%d)", exc, attempt, settings.match_attempts)
            time.sleep(settings.match_retry_seconds * attempt)
    raise AssertionError("unreachable")  # the loop returns or raises


def run_one_job(gateway: WorkloadGateway, job: MatchedJob, settings: PilotSettings) -> Outcome:
    job_dir = settings.work_dir / str(job.job_id)
    job_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _run_in(job_dir, gateway, job, settings)
    finally:
        if not settings.keep_work_dirs:
            shutil.rmtree(job_dir, ignore_errors=True)


def _run_in(job_dir: Path, gateway: WorkloadGateway, job: MatchedJob, settings: PilotSettings) -> Outcome:
    started = datetime.now(UTC)
    log.info("job %s: %s %s", job.job_id, job.executable, job.arguments)
    gateway.set_status(job.job_id, "Running", "Job Initialization")
    try:
        gateway.download_input_sandbox(job.job_id, job_dir)
    except DiracError as exc:
        gateway.set_status(job.job_id, "Failed", "Input Sandbox Download", str(exc))
        return Outcome(None, "failed", 0.0, 0.0)
    gateway.set_status(job.job_id, "Running", "Application", "Running")

    def on_heartbeat(beat: Heartbeat) -> bool:
        try:
            return KILL_COMMAND in gateway.heartbeat(job.job_id, beat)
        except DiracError as exc:  # a lost heartbeat must not kill a healthy payload
            log.warning("heartbeat for job %s failed: %s", job.job_id, exc)
            return False

    # DIRAC's job wrapper tells the payload who it is with these variables.
    environment = (("DIRACJOBID", str(job.job_id)), ("DIRACSITE", job.site))
    payload = Payload(job.executable, job.arguments, job_dir, job.cpu_time, job.wall_time, environment=environment)
    outcome = run_payload(payload, on_heartbeat, settings.heartbeat_seconds)
    gateway.set_parameters(
        job.job_id,
        {
            "ExitCode": str(outcome.exit_code),
            "CPUConsumed": f"{outcome.cpu_seconds:.2f}",
            "WallClockTime": f"{outcome.wall_seconds:.2f}",
            "HostName": socket.gethostname(),
            "EndReason": outcome.reason,
        },
    )
    if outcome.reason == "killed":
        gateway.set_status(job.job_id, "Killed", "Marked for termination", "Killed by the WMS")
    else:
        gateway.set_status(job.job_id, "Completed", "Uploading Output Sandbox", outcome.reason)
        try:
            gateway.upload_output_sandbox(job.job_id, output_files(job_dir, job.output_sandbox))
            final = ("Done", "Execution Complete") if outcome.succeeded else _failure_status(outcome)
        except DiracError as exc:
            log.warning("output sandbox of job %s not uploaded: %s", job.job_id, exc)
            final = ("Failed", "Uploading Output Sandbox")
        gateway.set_status(job.job_id, final[0], final[1], outcome.reason)
    _commit_accounting(gateway, job, outcome, started)
    return outcome


def _failure_status(outcome: Outcome) -> tuple[str, str]:
    reasons = {"cpu-limit": "CPU Time Limit Exceeded", "wall-limit": "Wall Clock Time Limit Exceeded"}
    return "Failed", reasons.get(outcome.reason, "Application Finished With Errors")


def output_files(job_dir: Path, patterns: tuple[str, ...]) -> list[Path]:
    """Files of the job directory named by the JDL OutputSandbox (globs allowed, as in DIRAC)."""
    names = sorted(p.name for p in job_dir.iterdir() if p.is_file())
    return [job_dir / name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in patterns)]


def _commit_accounting(gateway: WorkloadGateway, job: MatchedJob, outcome: Outcome, started: datetime) -> None:
    status = {"completed": "Done", "killed": "Killed"}.get(outcome.reason, "Failed")
    record: dict[str, Any] = {
        "User": job.owner,
        "UserGroup": job.owner_group,
        "Site": job.site or "Unknown",
        "FinalMajorStatus": status,
        "FinalMinorStatus": outcome.reason,
        "CPUTime": outcome.cpu_seconds,
        "ExecTime": outcome.wall_seconds,
        "startTime": started,
        "endTime": datetime.now(UTC),
    }
    try:
        gateway.commit_job_accounting(job, record)
    except DiracError as exc:  # accounting is best effort; the job result is already reported
        log.warning("accounting record for job %s not committed: %s", job.job_id, exc)
