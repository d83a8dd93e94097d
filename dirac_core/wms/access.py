"""Who may see and act on which job (DIRAC's JobPolicy, reduced to what the services need).

* JobAdministrator: every job. JobMonitor: sees every job.
* JobSharing: the jobs of its own group. NormalUser: its own jobs.
Checks are done for all requested jobs before anything changes: unknown ids -> NotFound, someone
else's jobs -> Forbidden, both naming the ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dirac_core.auth.caller import Caller, Properties
from dirac_core.db.base import MAX_BIGINT
from dirac_core.db.jobdb import JobDB
from dirac_core.errors import BadRequest, Forbidden, NotFound

JOB_MONITOR = "JobMonitor"  # DIRAC property: read access to all jobs


def parse_job_ids(job_ids: int | str | Iterable[int | str]) -> list[int]:
    """DIRAC clients send one id, a string or a list; all become a list of distinct positive ints."""
    raw: list[int | str] = [job_ids] if isinstance(job_ids, (int, str)) else list(job_ids)
    out: list[int] = []
    for item in raw:
        # bool is an int and 1.5 truncates to 1: neither is a JobID.
        if isinstance(item, bool) or not isinstance(item, int | str):
            raise BadRequest(f"job id {item!r} is not an integer: give numeric JobIDs")
        try:
            value = int(item)
        except ValueError:
            raise BadRequest(f"job id {item!r} is not an integer: give numeric JobIDs") from None
        if not 1 <= value <= MAX_BIGINT:
            raise BadRequest(f"job id {value} is out of range: JobIDs are 1 to 2^63-1")
        out.append(value)
    if not out:
        raise BadRequest("no job id given: pass at least one JobID")
    return list(dict.fromkeys(out))


def sees_all(caller: Caller) -> bool:
    return caller.is_job_admin or caller.has(JOB_MONITOR)


def owns(caller: Caller, attributes: Mapping[str, Any]) -> bool:
    if caller.is_job_admin:
        return True
    if caller.has(Properties.JOB_SHARING) and attributes.get("OwnerGroup") == caller.group:
        return True
    return bool(attributes.get("Owner") == caller.username and attributes.get("VO") in {caller.vo, None})


def load_authorized(
    jobdb: JobDB, caller: Caller, job_ids: Sequence[int], names: Sequence[str], write: bool, missing_ok: bool = False
) -> dict[int, dict[str, Any]]:
    """Attributes of the jobs, after checking they all exist and the caller may read (or act on) them.

    `missing_ok`: unknown ids are left out instead of refused (DIRAC's bulk reads, e.g. getJobsStatus)."""
    wanted = list(dict.fromkeys([*names, "Owner", "OwnerGroup", "VO"]))
    found = jobdb.get_attributes(job_ids, wanted)
    missing = [job_id for job_id in job_ids if job_id not in found]
    if missing_ok:
        job_ids = [job_id for job_id in job_ids if job_id in found]
    elif missing:
        raise NotFound(f"no job {', '.join(map(str, missing))}: check the JobID(s)")
    if write or not sees_all(caller):
        denied = [job_id for job_id in job_ids if not owns(caller, found[job_id])]
        if denied:
            verb = "act on" if write else "see"
            raise Forbidden(
                f"{caller.username} may not {verb} job(s) {', '.join(map(str, denied))} of another owner: "
                "only the owner or a JobAdministrator may"
            )
    return found


def owner_conditions(caller: Caller) -> dict[str, str]:
    """Search filter that limits a caller to the jobs it may see."""
    if sees_all(caller):
        return {}
    if caller.has(Properties.JOB_SHARING):
        return {"OwnerGroup": caller.group}
    return {"Owner": caller.username, "VO": caller.vo}


def require_user(caller: Caller) -> None:
    caller.require(Properties.NORMAL_USER, Properties.JOB_ADMINISTRATOR)


def require_pilot(caller: Caller) -> None:
    caller.require(Properties.GENERIC_PILOT)
