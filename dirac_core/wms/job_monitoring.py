"""JobMonitoring logic: status, attributes, parameters, history, summaries and paged searches.

Users see their own jobs (JobSharing: their group's; JobAdministrator/JobMonitor: all). Asking for a
job one may not see is Forbidden; an unknown id is NotFound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dirac_core.auth.caller import Caller
from dirac_core.db.jobdb import JOB_ATTRIBUTES, JobDB
from dirac_core.db.jobloggingdb import JobLoggingDB
from dirac_core.errors import BadRequest, Forbidden
from dirac_core.wms.access import load_authorized, owner_conditions, parse_job_ids

MAX_PAGE = 10000
Conditions = Mapping[str, str | int | Sequence[str | int]]


@dataclass
class JobMonitoring:
    jobdb: JobDB
    loggingdb: JobLoggingDB

    def get_jobs_status(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> dict[int, dict[str, Any]]:
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status", "MinorStatus", "ApplicationStatus"], write=False)
        return {i: {k: found[i][k] for k in ("Status", "MinorStatus", "ApplicationStatus")} for i in ids}

    def get_jobs_attributes(
        self, caller: Caller, job_ids: int | str | Iterable[int | str], names: Sequence[str] = ()
    ) -> dict[int, dict[str, Any]]:
        """DIRAC's bulk reads (getJobsStates, getJobsSummary, ...): unknown ids are left out, as DIRAC does."""
        ids = parse_job_ids(job_ids)
        wanted = list(names) or list(JOB_ATTRIBUTES)
        found = load_authorized(self.jobdb, caller, ids, wanted, write=False, missing_ok=True)
        return {i: {name: found[i][name] for name in wanted} for i in ids if i in found}

    def select_job_ids(
        self, caller: Caller, conditions: Conditions | None = None, newer: datetime | None = None
    ) -> list[int]:
        """DIRAC's getJobs: ids of the jobs matching `conditions`, last updated at or after `newer`."""
        restricted = self._restricted(caller, conditions or {})
        return self.jobdb.select_job_ids(restricted, newer)

    def get_job_attributes(self, caller: Caller, job_id: int, names: Sequence[str] = ()) -> dict[str, Any]:
        wanted = list(names) or list(JOB_ATTRIBUTES)
        found = load_authorized(self.jobdb, caller, [job_id], wanted, write=False)[job_id]
        return {name: found[name] for name in wanted}

    def get_job_parameters(
        self, caller: Caller, job_ids: int | str | Iterable[int | str], names: Sequence[str] = ()
    ) -> dict[int, dict[str, str]]:
        ids = parse_job_ids(job_ids)
        load_authorized(self.jobdb, caller, ids, [], write=False)
        return self.jobdb.get_parameters(ids, names)

    def get_job_logging_info(self, caller: Caller, job_id: int) -> list[dict[str, str]]:
        load_authorized(self.jobdb, caller, [job_id], [], write=False)
        return self.loggingdb.get_logging_info(job_id)

    def get_job_jdl(self, caller: Caller, job_id: int, original: bool = False) -> str:
        load_authorized(self.jobdb, caller, [job_id], [], write=False)
        return self.jobdb.get_jdl(job_id, original) or ""

    def get_heartbeat_data(self, caller: Caller, job_id: int) -> list[tuple[str, str, datetime]]:
        load_authorized(self.jobdb, caller, [job_id], [], write=False)
        return self.jobdb.get_heartbeat_data(job_id)

    def get_input_data(self, caller: Caller, job_id: int) -> list[str]:
        load_authorized(self.jobdb, caller, [job_id], [], write=False)
        return self.jobdb.get_input_data(job_id)

    def _restricted(self, caller: Caller, conditions: Conditions) -> dict[str, Any]:
        merged: dict[str, Any] = dict(conditions)
        for name, value in owner_conditions(caller).items():
            asked = merged.get(name)
            if asked is not None and asked != value and not (isinstance(asked, (list, tuple)) and value in asked):
                raise Forbidden(f"{caller.username} may only see jobs with {name} = {value}")
            merged[name] = value
        return merged

    def summary(
        self,
        caller: Caller,
        group_by: Sequence[str] = ("Status",),
        conditions: Conditions | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Number of jobs per Status/Site/Owner/... combination (DIRAC's getCounters / getJobStats)."""
        rows = self.jobdb.counters(group_by, self._restricted(caller, conditions or {}), from_date, to_date)
        return [{**key, "Count": count} for key, count in rows]

    def search(
        self,
        caller: Caller,
        conditions: Conditions | None = None,
        columns: Sequence[str] = (),
        sort: Sequence[tuple[str, str]] = (("JobID", "DESC"),),
        offset: int = 0,
        limit: int = 100,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> dict[str, Any]:
        """A page of jobs, DIRAC's getJobPageSummaryWeb shape: TotalRecords, ParameterNames, Records, Extras."""
        if not 0 <= limit <= MAX_PAGE:
            raise BadRequest(f"page size {limit}: give 0 to {MAX_PAGE}")
        restricted = self._restricted(caller, conditions or {})
        names = list(columns) or list(JOB_ATTRIBUTES)
        total, rows = self.jobdb.search(restricted, names, sort, offset, limit, from_date, to_date)
        by_status = self.jobdb.counters(["Status"], restricted, from_date, to_date)
        return {
            "TotalRecords": total,
            "ParameterNames": names,
            "Records": [[row[name] for name in names] for row in rows],
            "Extras": {key["Status"]: count for key, count in by_status},
        }
