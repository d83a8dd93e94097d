"""Matcher logic: a pilot describes its resource and gets the best Waiting job, atomically.

The job is claimed out of the TaskQueueDB (never handed to two pilots, see TaskQueueDB), moved
Waiting -> Matched with a compare-and-set, logged, and the pilot is recorded in PilotAgentsDB.
Round trips per match: TaskQueueDB 3 statements + commit; then status + owner/JDL read, logging
record and pilot record, in one transaction when those DBs share a database (else one each).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine

from dirac_core.auth.caller import Caller
from dirac_core.db.jobdb import JobDB, StatusChange
from dirac_core.db.jobloggingdb import JobLoggingDB, LoggingRecord
from dirac_core.db.pilotagentsdb import PilotAgentsDB
from dirac_core.db.retry import retry_transient
from dirac_core.db.taskqueuedb import ResourceDescription, TaskQueueDB
from dirac_core.errors import BadRequest, Conflict, NotFound
from dirac_core.wms import states
from dirac_core.wms.access import require_pilot
from dirac_core.wms.scheduling import requeue


def _as_tuple(value: Any, name: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise BadRequest(f"resource {name} must be a string or a list of strings")


MAX_CPU_TIME = 2**31 - 1  # seconds (68 years): more is no resource, and it must fit the SQL comparison


def resource_from_dict(description: Mapping[str, Any]) -> ResourceDescription:
    """DIRAC's resource description (Site, GridCE, CPUTime, Platform, Tag, ...) -> ResourceDescription."""
    cpu = description.get("CPUTime")
    if isinstance(cpu, bool) or not isinstance(cpu, (int, float, str)):
        raise BadRequest("resource description needs CPUTime (seconds the pilot can still run)")
    try:
        cpu_time = int(cpu)
    except (ValueError, OverflowError):
        raise BadRequest(f"resource CPUTime = {cpu!r} is not a number of seconds") from None
    if not 0 < cpu_time <= MAX_CPU_TIME:
        raise BadRequest(f"resource CPUTime = {cpu!r}: give the seconds left, 1 to {MAX_CPU_TIME}")
    site = description.get("Site", "")
    if not isinstance(site, str):
        raise BadRequest("resource Site must be one site name")
    return ResourceDescription(
        cpu_time=cpu_time,
        site=site,
        grid_ce=str(description.get("GridCE", "")),
        platforms=_as_tuple(description.get("Platform", description.get("Platforms")), "Platform"),
        job_types=_as_tuple(description.get("JobType", description.get("JobTypes")), "JobType"),
        tags=_as_tuple(description.get("Tag", description.get("Tags")), "Tag"),
        vos=_as_tuple(description.get("VO"), "VO"),
        owner_groups=_as_tuple(description.get("OwnerGroup"), "OwnerGroup"),
    )


log = logging.getLogger(__name__)


@dataclass
class Matcher:
    jobdb: JobDB
    loggingdb: JobLoggingDB
    tqdb: TaskQueueDB
    pilotdb: PilotAgentsDB

    def __post_init__(self) -> None:
        # JobDB, JobLoggingDB and PilotAgentsDB in one database (one URL, as `dirac-core up` and many
        # sites configure them): Matched status, logging record and pilot record in one transaction,
        # one commit (a log flush on MariaDB) instead of three, and all-or-nothing.
        urls = {
            db.engine.url.render_as_string(hide_password=False) for db in (self.jobdb, self.loggingdb, self.pilotdb)
        }
        self._shared: Engine | None = self.jobdb.engine if len(urls) == 1 else None

    def request_job(self, caller: Caller, description: Mapping[str, Any]) -> dict[str, Any] | None:
        """DIRAC's requestJob: the matched job (JobID, JDL, owner, ...) or None when nothing fits."""
        require_pilot(caller)
        resource = resource_from_dict(description)
        pilot_reference = str(description.get("PilotReference") or f"{caller.username}:unknown")
        for _attempt in range(10):
            claimed = self.tqdb.match_and_claim(resource)
            if claimed is None:
                return None
            job_id, tq_id = claimed
            try:
                return self._assign(job_id, tq_id, resource, pilot_reference)
            except Conflict:
                continue  # killed or deleted after it was queued: it is out of the queue now, try the next
            except Exception:
                # The job is out of its task queue but no pilot has it: put it back, or nobody ever will.
                self._release(job_id)
                raise
        return None

    def _assign(self, job_id: int, tq_id: int, resource: ResourceDescription, pilot_reference: str) -> dict[str, Any]:
        """Waiting -> Matched (Conflict if the job moved meanwhile), logged, pilot recorded; the match reply.

        Each transaction is retried on its own after a deadlock or lock wait timeout (InnoDB rolled it
        back): retrying the whole match after the status change committed would find the job Matched,
        take that for a Conflict and leave the job Matched with no pilot (seen in the lab, 1 in 2000).
        """
        change = StatusChange(job_id, states.WAITING, states.MATCHED, "Assigned", site=resource.site or None)
        record = LoggingRecord(job_id, states.MATCHED, "Assigned", source="Matcher")
        names = ["Owner", "OwnerGroup", "VO", "JobType"]
        shared = self._shared
        if shared is not None:

            def all_in_one() -> tuple[dict[str, Any], int]:
                with shared.begin() as conn:
                    job = self.jobdb.change_and_read(change, names, with_jdl=True, conn=conn)
                    self.loggingdb.append(conn, record)
                    return job, self._record_pilot(pilot_reference, job_id, tq_id, resource, job, conn)

            job, pilot_id = retry_transient(all_in_one)
        else:
            job = retry_transient(lambda: self.jobdb.change_and_read(change, names, with_jdl=True))
            try:
                retry_transient(lambda: self.loggingdb.add_records([record]))
                pilot_id = retry_transient(
                    lambda: self._record_pilot(pilot_reference, job_id, tq_id, resource, job, None)
                )
            except Exception:
                self._unmatch(job_id)
                raise
        return {
            "JobID": job_id,
            "JDL": job["JDL"],
            "Owner": job["Owner"],
            "Group": job["OwnerGroup"],
            "VO": job["VO"],
            "JobType": job["JobType"],
            "PilotID": pilot_id,
            "TaskQueueID": tq_id,
        }

    def _record_pilot(
        self,
        pilot_reference: str,
        job_id: int,
        tq_id: int,
        resource: ResourceDescription,
        job: Mapping[str, Any],
        conn: Connection | None,
    ) -> int:
        return self.pilotdb.record_match(
            pilot_reference, job_id, tq_id, resource.site, str(job["VO"]), resource.grid_ce, conn=conn
        )

    def _unmatch(self, job_id: int) -> None:
        """Matched -> Waiting for a job whose pilot was never told (the match failed after its status change)."""
        back = StatusChange(job_id, states.MATCHED, states.WAITING, "Match failed, back in the task queue")
        retry_transient(lambda: self.jobdb.apply_status_changes([back]))

    def _release(self, job_id: int) -> None:
        """Put a claimed, Waiting job back into its task queue; a failure here is logged, not raised over the first."""
        try:
            retry_transient(lambda: requeue(self.jobdb, self.tqdb, job_id))
        except Exception:  # the caller re-raises the first error; this one goes to the service log
            log.exception("job %s could not be put back into its task queue: reschedule it", job_id)

    def request_job_or_fail(self, caller: Caller, description: Mapping[str, Any]) -> dict[str, Any]:
        """RPC flavour: DIRAC answers S_ERROR("No match found") when nothing fits."""
        match = self.request_job(caller, description)
        if match is None:
            raise NotFound("No match found: no Waiting job fits this pilot's site, platform, tags and CPU time")
        return match
