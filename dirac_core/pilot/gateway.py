"""What the pilot needs from the WMS, independent of transport (HTTPS client or in-process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dirac_core.pilot.executor import Heartbeat


@dataclass(frozen=True)
class ResourceDescription:
    """What this pilot offers the Matcher: DIRAC's resource description keys."""

    site: str
    platform: str = "Linux-x86_64"
    tags: tuple[str, ...] = ()
    cpu_time: int = 86400
    pilot_reference: str = ""

    def as_dirac_dict(self) -> dict[str, Any]:
        return {
            "Site": self.site,
            "Platform": self.platform,
            "Tag": list(self.tags),
            "CPUTime": self.cpu_time,
            "PilotReference": self.pilot_reference,
        }


@dataclass(frozen=True)
class MatchedJob:
    job_id: int
    executable: str
    arguments: str = ""
    cpu_time: int = 0
    wall_time: int = 0
    output_sandbox: tuple[str, ...] = ()
    owner: str = ""
    owner_group: str = ""
    site: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class WorkloadGateway(Protocol):
    def request_job(self, resource: ResourceDescription) -> MatchedJob | None:
        """A matching Waiting job (now Matched to this pilot), or None when there is none."""

    def download_input_sandbox(self, job_id: int, destination: Path) -> None:
        """Unpack the job's input sandbox(es) into `destination` (nothing if it has none)."""

    def set_status(self, job_id: int, status: str, minor_status: str, application_status: str = "") -> None:
        """Report a status change; the WMS checks it against its state machine."""

    def heartbeat(self, job_id: int, beat: Heartbeat) -> list[str]:
        """Send a heartbeat; returns the commands waiting for this job (e.g. ["Kill"])."""

    def set_parameters(self, job_id: int, parameters: dict[str, str]) -> None:
        """Record job parameters (exit code, CPU used, host, ...)."""

    def upload_output_sandbox(self, job_id: int, files: list[Path]) -> None:
        """Upload the output files named by the JDL's OutputSandbox."""

    def commit_job_accounting(self, job: MatchedJob, record: dict[str, Any]) -> None:
        """Commit the Job accounting record when the job ends (best effort)."""
