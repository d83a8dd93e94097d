"""The Job accounting record a pilot commits when a job ends, built in this one place.

The pilot fills what it measured (user, group, site, final status, CPU and wall time, start and end:
see `dirac_core.pilot.loop`); `accounting_register` adds the JDL's ``JobGroup`` and ``JobType`` and
lays the fields out as DIRAC's Job type (`dirac_core.accounting_types.JOB`) orders them, the shape
``DataStore.commitRegisters`` takes. The HTTPS pilot gateway sends it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dirac_core.accounting_types import JOB
from dirac_core.pilot.gateway import MatchedJob


def accounting_register(job: MatchedJob, record: dict[str, Any]) -> list[Any]:
    """One DIRAC register ``[type, start, end, values]`` for DataStore.commitRegisters."""
    fields = {
        "JobGroup": job.extra.get("JobGroup") or "NoGroup",
        "JobType": job.extra.get("JobType") or "User",
        "NormCPUTime": record.get("CPUTime", 0),  # no CPU power factor known to the pilot
        **{key: value for key, value in record.items() if value not in ("", None)},
    }
    # Key fields are never empty: the DataStore refuses empty keys; "unknown" is DIRAC's filler.
    values: list[str | int] = [str(fields.get(name) or "unknown") for name in JOB.key_names]
    values += [int(float(fields.get(name, 0) or 0)) for name in JOB.value_fields]
    start: datetime = record["startTime"]
    end: datetime = record["endTime"]
    return ["Job", start.replace(tzinfo=None), end.replace(tzinfo=None), values]


__all__ = ["accounting_register"]
