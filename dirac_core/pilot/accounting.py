"""The Job record a pilot commits when a job ends (see dirac_core.pilot.loop._commit_accounting).

The pilot fills what it measured (user, group, site, final status, CPU and wall time, start and
end); `complete_job_record` adds the other key fields of DIRAC's Job type from the matched job
(JDL ``JobGroup``, ``JobType``...) or DIRAC's defaults, so the DataStore's strict checks pass.
The HTTPS pilot gateway's ``commit_job_accounting`` calls `commit_job_accounting` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirac_core.accounting_types import JOB
from dirac_core.client.accounting import AccountingClient
from dirac_core.pilot.gateway import MatchedJob

DEFAULT_KEYS = {
    "User": "unknown",
    "UserGroup": "unknown",
    "JobGroup": "NoGroup",
    "JobType": "User",
    "JobClass": "unknown",
    "ProcessingType": "unknown",
    "Site": "Unknown",
    "FinalMajorStatus": "Unknown",
    "FinalMinorStatus": "Unknown",
}


def complete_job_record(job: MatchedJob, record: Mapping[str, Any]) -> dict[str, Any]:
    """`record` with every Job key field set; NormCPUTime defaults to CPUTime (no CPU power factor)."""
    out: dict[str, Any] = {}
    for key in JOB.key_names:
        value = record.get(key) or job.extra.get(key) or DEFAULT_KEYS[key]
        out[key] = str(value)[: JOB.key_length(key)]
    for field in JOB.value_fields:
        if field in record:
            out[field] = max(float(record[field]), 0.0)
    out.setdefault("NormCPUTime", out.get("CPUTime", 0.0))
    out["startTime"] = record["startTime"]
    out["endTime"] = record["endTime"]
    return out


def commit_job_accounting(client: AccountingClient, job: MatchedJob, record: Mapping[str, Any]) -> None:
    """Commit the pilot's Job record; a DiracError propagates (the pilot loop logs it and goes on)."""
    client.commit("Job", [complete_job_record(job, record)])
