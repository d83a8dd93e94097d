"""From a job's JDL to its JobDB attributes and task queue, and the path Received -> Checking -> Waiting.

DIRAC runs this in optimizer agents (JobSanity, JobScheduling); here the JobManager runs it inline
right after insertion, and the logging history shows the same steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from dirac_core.db.jobdb import JobDB, StatusChange
from dirac_core.db.jobloggingdb import JobLoggingDB, LoggingRecord
from dirac_core.db.taskqueuedb import QueuedJob, TaskQueueDB, TaskQueueDefinition
from dirac_core.jdl import JDL, JDLError, Scalar
from dirac_core.wms import states

DEFAULT_CPU_TIME = 86400  # DIRAC's Job API default
MAX_CPU_TIME = 10**9
_LIMITS = {"JobName": 128, "JobGroup": 32, "JobType": 32}


@dataclass(frozen=True)
class Owner:
    owner: str
    owner_group: str
    vo: str


def _sites(jdl: JDL) -> list[str]:
    return jdl.get_list("Site")


def requested_site(jdl: JDL) -> str:
    """Jobs.Site as DIRAC shows it: the one requested site, 'Multiple', or 'ANY'."""
    sites = _sites(jdl)
    if len(sites) == 1:
        return sites[0][:100]
    return "Multiple" if sites else "ANY"


def validate(jdl: JDL) -> None:
    """Refuse what would fail later, with the attribute and the fix in the message."""
    if not jdl.get_str("Executable"):
        raise JDLError('JDL has no Executable: add Executable = "my_script.sh";')
    cpu = jdl.get_int("CPUTime", DEFAULT_CPU_TIME)
    if not 0 < cpu <= MAX_CPU_TIME:
        raise JDLError(f"JDL CPUTime = {cpu} is out of range: give seconds between 1 and {MAX_CPU_TIME}")
    priority = jdl.get_int("Priority", 1)
    if not 0 <= priority <= 10:
        raise JDLError(f"JDL Priority = {priority} is out of range: give 0 (lowest) to 10 (highest)")
    processors = jdl.get_int("NumberOfProcessors", 1)
    if processors < 1:
        raise JDLError(f"JDL NumberOfProcessors = {processors}: give at least 1")
    for name, limit in _LIMITS.items():
        if len(jdl.get_str(name)) > limit:
            raise JDLError(f"JDL {name} is longer than {limit} characters: shorten it")
    for name in ("Site", "BannedSites", "BannedSite", "Platform", "Tags", "Tag", "GridCE", "JobType"):
        for value in jdl.get_list(name):
            if len(value) > 64:
                raise JDLError(f"JDL {name} value {value[:20]!r}... is longer than 64 characters: shorten it")
    for lfn in input_data(jdl):
        if len(lfn) > 255:
            raise JDLError(f"JDL InputData LFN {lfn[:40]!r}... is longer than 255 characters")


def input_data(jdl: JDL) -> list[str]:
    return [lfn.removeprefix("LFN:") for lfn in jdl.get_list("InputData")]


def job_attributes(jdl: JDL, owner: Owner) -> dict[str, Any]:
    return {
        "JobName": jdl.get_str("JobName", "Unknown") or "Unknown",
        "JobType": jdl.get_str("JobType", "User") or "User",
        "JobGroup": jdl.get_str("JobGroup", "00000000") or "00000000",
        "Site": requested_site(jdl),
        "Owner": owner.owner,
        "OwnerGroup": owner.owner_group,
        "VO": owner.vo,
        "UserPriority": jdl.get_int("Priority", 1),
        "Status": states.RECEIVED,
        "MinorStatus": "Job accepted",
        "ApplicationStatus": "Unknown",
    }


def tags(jdl: JDL) -> frozenset[str]:
    out = set(jdl.get_list("Tags")) | set(jdl.get_list("Tag"))
    processors = jdl.get_int("NumberOfProcessors", 1)
    if processors > 1:
        # DIRAC's convention: multi-core jobs need a resource tagged "<n>Processors".
        out.add(f"{processors}Processors")
    return frozenset(out)


def task_queue_definition(jdl: JDL, owner: Owner) -> TaskQueueDefinition:
    return TaskQueueDefinition(
        owner=owner.owner,
        owner_group=owner.owner_group,
        vo=owner.vo,
        cpu_time=jdl.get_int("CPUTime", DEFAULT_CPU_TIME),
        sites=frozenset(_sites(jdl)),
        grid_ces=frozenset(jdl.get_list("GridCE")),
        banned_sites=frozenset(jdl.get_list("BannedSites")) | frozenset(jdl.get_list("BannedSite")),
        platforms=frozenset(jdl.get_list("Platform")),
        job_types=frozenset([jdl.get_str("JobType", "User") or "User"]),
        tags=tags(jdl),
    )


def requirements_text(jdl: JDL, owner: Owner) -> str:
    """JobJDLs.JobRequirements: the matching requirements as a small JDL."""
    definition = task_queue_definition(jdl, owner)
    req = JDL(
        {
            "OwnerName": owner.owner,
            "OwnerGroup": owner.owner_group,
            "VirtualOrganization": owner.vo,
            "CPUTime": definition.cpu_time,
        }
    )
    for name, values in (
        ("Sites", definition.sites),
        ("BannedSites", definition.banned_sites),
        ("Platforms", definition.platforms),
        ("Tags", definition.tags),
        ("GridCEs", definition.grid_ces),
        ("JobTypes", definition.job_types),
    ):
        if values:
            items: list[Scalar] = [*sorted(values)]
            req.set(name, items)
    return req.to_text()


def schedule(
    jobdb: JobDB,
    loggingdb: JobLoggingDB,
    tqdb: TaskQueueDB,
    jobs: Sequence[tuple[int, JDL, Owner]],
    source: str,
) -> None:
    """Move Received jobs (rescheduled ones) through Checking to Waiting and into their task queues (bulk).

    Copies of one job share their JDL object, so its task queue definition is computed once. New jobs
    take the all-or-nothing path of `dirac_core.wms.submission` instead.
    """
    if not jobs:
        return
    ids = [job_id for job_id, _, _ in jobs]
    jobdb.apply_status_changes([StatusChange(i, states.RECEIVED, states.CHECKING, "JobSanity") for i in ids])
    derived: dict[tuple[int, Owner], tuple[TaskQueueDefinition, int]] = {}
    queued = []
    for job_id, jdl, owner in jobs:
        key = (id(jdl), owner)
        if key not in derived:
            derived[key] = (task_queue_definition(jdl, owner), jdl.get_int("Priority", 1))
        definition, priority = derived[key]
        queued.append(QueuedJob(job_id, definition, priority=priority))
    # Waiting first, then queued: a pilot can only claim a job that is already Waiting (the other order
    # let a pilot claim a Checking job, take the Conflict for a kill and drop it from the queue).
    jobdb.apply_status_changes(
        [StatusChange(i, states.CHECKING, states.WAITING, "Pilot Agent Submission") for i in ids]
    )
    tqdb.insert_jobs(queued)
    records = []
    for job_id in ids:
        records.append(LoggingRecord(job_id, states.CHECKING, "JobSanity", source=source))
        records.append(LoggingRecord(job_id, states.WAITING, "Pilot Agent Submission", source=source))
    loggingdb.add_records(records)


def queued_jobs_of(jobdb: JobDB, job_ids: Sequence[int]) -> list[QueuedJob]:
    """The task queue entries of jobs, from their stored JDLs and owners (jobs deleted meanwhile are left out)."""
    found = jobdb.get_attributes(job_ids, ["Owner", "OwnerGroup", "VO"])
    derived: dict[tuple[str, Owner], QueuedJob] = {}
    out = []
    for job_id in job_ids:
        text = jobdb.get_jdl(job_id)
        if text is None or job_id not in found:
            continue
        owner = Owner(found[job_id]["Owner"], found[job_id]["OwnerGroup"], found[job_id]["VO"])
        # Copies differ only by their JobID line: parse each distinct description once.
        shape = (text.replace(f"JobID = {job_id};", ""), owner)
        if shape not in derived:
            jdl = JDL.parse(text)
            derived[shape] = QueuedJob(0, task_queue_definition(jdl, owner), priority=jdl.get_int("Priority", 1))
        out.append(replace(derived[shape], job_id=job_id))
    return out


def requeue(jobdb: JobDB, tqdb: TaskQueueDB, job_id: int) -> None:
    """Put a Waiting job back into its task queue (found or re-created from its JDL), e.g. after a failed match."""
    text = jobdb.get_jdl(job_id)
    found = jobdb.get_attributes([job_id], ["Owner", "OwnerGroup", "VO"])
    if text is None or job_id not in found:
        return  # deleted meanwhile: nothing to queue
    jdl = JDL.parse(text)
    owner = Owner(found[job_id]["Owner"], found[job_id]["OwnerGroup"], found[job_id]["VO"])
    tqdb.insert_jobs([QueuedJob(job_id, task_queue_definition(jdl, owner), priority=jdl.get_int("Priority", 1))])
