"""JobStateUpdate logic: what pilots report (status, minor and application status, parameters, heartbeats).

Only GenericPilot callers may report. Status changes follow the checked state machine: an illegal
transition raises Conflict naming from/to and changes nothing. A heartbeat answers with the commands
queued for the job (``{"Kill": ""}`` after a kill).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.db.jobdb import JobDB, StatusChange
from dirac_core.db.jobloggingdb import IDEM, JobLoggingDB, LoggingRecord
from dirac_core.errors import BadRequest, NotFound
from dirac_core.wms import states
from dirac_core.wms.access import require_pilot

# Heartbeat values DIRAC's JobWrapper sends; kept in HeartBeatLoggingInfo.
HEARTBEAT_KEYS = ("CPUConsumed", "MemoryUsed", "Vsize", "RSS", "LoadAverage", "WallClockTime", "AvailableDiskSpace")


@dataclass
class JobStateUpdate:
    jobdb: JobDB
    loggingdb: JobLoggingDB

    def _current(self, job_id: int) -> dict[str, Any]:
        found = self.jobdb.get_attributes([job_id], ["Status", "MinorStatus", "ApplicationStatus"])
        if job_id not in found:
            raise NotFound(f"no job {job_id}: check the JobID")
        return found[job_id]

    def set_status(
        self,
        caller: Caller,
        job_id: int,
        status: str = "",
        minor_status: str = "",
        application_status: str = "",
        source: str = "Unknown",
        date: datetime | None = None,
    ) -> dict[str, str]:
        """DIRAC's setJobStatus: an empty status keeps the current one (minor status update only).

        `date` (UTC) is when the pilot saw the change; it orders the logging record.
        """
        require_pilot(caller)
        if not (status or minor_status or application_status):
            raise BadRequest("nothing to set: give a status, a minor status or an application status")
        current = self._current(job_id)
        new_status = status or current["Status"]
        if new_status != current["Status"]:
            states.check_transition(job_id, current["Status"], new_status)
        elif new_status not in states.TRANSITIONS:
            raise BadRequest(f"unknown job status {new_status!r}: use one of {', '.join(states.JOB_STATES)}")
        self.jobdb.apply_status_changes(
            [
                StatusChange(
                    job_id,
                    expected=current["Status"],
                    status=new_status,
                    minor_status=minor_status or current["MinorStatus"],
                    application_status=application_status or None,
                    start_exec=new_status == states.RUNNING and current["Status"] != states.RUNNING,
                    end_exec=new_status in states.FINAL_STATES,
                )
            ]
        )
        self.loggingdb.add_records(
            [
                LoggingRecord(
                    job_id,
                    status or IDEM,
                    minor_status or IDEM,
                    application_status or IDEM,
                    source=source,
                    date=date,
                )
            ]
        )
        return {
            "Status": new_status,
            "MinorStatus": minor_status or current["MinorStatus"],
            "ApplicationStatus": application_status or current["ApplicationStatus"],
        }

    def set_application_status(self, caller: Caller, job_id: int, application_status: str, source: str) -> None:
        require_pilot(caller)
        self._current(job_id)
        self.jobdb.set_application_status(job_id, application_status)
        self.loggingdb.add_records([LoggingRecord(job_id, application_status=application_status, source=source)])

    def set_parameters(self, caller: Caller, job_id: int, parameters: Sequence[tuple[str, str]]) -> None:
        """DIRAC's setJobParameters: (name, value) pairs, overwriting earlier values."""
        require_pilot(caller)
        self._current(job_id)
        for name, _value in parameters:
            if not name or len(name) > 100:
                raise BadRequest(f"parameter name {name!r} must have 1 to 100 characters")
        self.jobdb.set_parameters([(job_id, name, str(value)) for name, value in parameters])

    def heartbeat(
        self, caller: Caller, job_id: int, dynamic_data: Mapping[str, Any], static_data: Mapping[str, Any] | None = None
    ) -> dict[str, str]:
        """DIRAC's sendHeartBeat: record CPU/memory/..., revive a Stalled job, return pending commands."""
        require_pilot(caller)
        current = self._current(job_id)
        unknown = [key for key in dynamic_data if key not in HEARTBEAT_KEYS]
        if unknown:
            raise BadRequest(f"unknown heartbeat value(s) {', '.join(unknown)}: use {', '.join(HEARTBEAT_KEYS)}")
        revived = self.jobdb.add_heartbeat(
            job_id, dynamic_data, revive_from=states.STALLED if current["Status"] == states.STALLED else None
        )
        if revived:
            self.loggingdb.add_records([LoggingRecord(job_id, states.RUNNING, "Job Resumed", source="Heartbeat")])
        if static_data:
            self.jobdb.set_parameters([(job_id, str(k), str(v)) for k, v in static_data.items()])
        return self.jobdb.pop_pending_commands(job_id)
