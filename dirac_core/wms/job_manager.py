"""JobManager logic: submit (single, N copies, parametric), confirm a bulk, kill, delete, remove, reschedule.

Every request is checked in full (JDL, sandboxes, ownership, states) before anything is written.
A submission is written all-or-nothing across the WMS databases, and a retry with the same
idempotency key gets the same JobIDs (`dirac_core.wms.submission`).
Kill of a job a pilot holds queues a ``Kill`` JobCommands row the pilot gets with its next heartbeat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dirac_core.auth.caller import Caller
from dirac_core.db.jobdb import JobDB, NewJob, StatusChange
from dirac_core.db.jobloggingdb import JobLoggingDB, LoggingRecord
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB, job_entity
from dirac_core.db.taskqueuedb import QueuedJob, TaskQueueDB
from dirac_core.errors import BadRequest, Conflict, Forbidden, PayloadTooLarge
from dirac_core.jdl import JDL
from dirac_core.wms import states
from dirac_core.wms.access import load_authorized, owns, parse_job_ids, require_user
from dirac_core.wms.sandbox_store import parse_location
from dirac_core.wms.scheduling import (
    Owner,
    input_data,
    job_attributes,
    requested_site,
    requirements_text,
    schedule,
    task_queue_definition,
    validate,
)
from dirac_core.wms.submission import SUBMISSION_LEASE, PlannedJob, SubmissionWriter, fingerprint

SOURCE = "JobManager"
# What DIRAC's confirmBulkSubmission takes as already confirmed (plus Staging, a step of an accepted job).
ACCEPTED_STATES = frozenset(
    {states.RECEIVED, states.CHECKING, states.STAGING, states.WAITING, states.MATCHED, states.RUNNING}
)
MAX_PARAMETRIC_JOBS = 20  # DIRAC's default of JobManager/MaxParametricJobs
MAX_RESCHEDULING = 3  # DIRAC's default of /Operations/.../JobScheduling/MaxRescheduling
MAX_JDL_BYTES = 256 * 1024  # defaults of the JobManager options MaxJDLBytes, MaxJobCopies, MaxSubmitBytes
MAX_JOB_COPIES = 1000
MAX_SUBMIT_BYTES = 16 * 1024 * 1024


@dataclass
class JobManager:
    jobdb: JobDB
    loggingdb: JobLoggingDB
    tqdb: TaskQueueDB
    sandboxdb: SandboxMetadataDB | None = None
    max_parametric_jobs: int = MAX_PARAMETRIC_JOBS
    max_rescheduling: int = MAX_RESCHEDULING
    max_jdl_bytes: int = MAX_JDL_BYTES
    max_copies: int = MAX_JOB_COPIES
    max_submit_bytes: int = MAX_SUBMIT_BYTES
    submission_lease: float = SUBMISSION_LEASE

    # ---------------------------------------------------------------- submission
    def __post_init__(self) -> None:
        self.writer = SubmissionWriter(
            self.jobdb, self.loggingdb, self.tqdb, self.sandboxdb, SOURCE, lease=self.submission_lease
        )

    def submit(self, caller: Caller, jdl_text: str, copies: int = 1, idempotency_key: str | None = None) -> list[int]:
        """Submit a JDL: one job, `copies` identical jobs, or the jobs of a parametric JDL.

        All or nothing (`dirac_core.wms.submission`); with `idempotency_key`, a retry of the same
        submission by the same owner returns the first reply's JobIDs.
        """
        require_user(caller)
        if not 1 <= copies <= self.max_copies:
            raise BadRequest(f"copies = {copies}: give 1 to {self.max_copies} (JobManager option MaxJobCopies)")
        size = len(jdl_text.encode("utf-8", "surrogatepass"))
        if size > self.max_jdl_bytes:
            raise PayloadTooLarge(
                f"the JDL is {size} bytes, over the limit of {self.max_jdl_bytes} (JobManager option MaxJDLBytes): "
                "put data files in the InputSandbox instead of the JDL"
            )
        original = JDL.parse(jdl_text)
        expanded = original.expand_parametric(self.max_parametric_jobs)
        if copies > 1 and len(expanded) > 1:
            raise BadRequest("copies > 1 with a parametric JDL: use either Parameters or copies, not both")
        stored = size * len(expanded) * copies
        if stored > self.max_submit_bytes:
            raise PayloadTooLarge(
                f"this submission would store {stored} bytes of JDL ({size} bytes x {len(expanded) * copies} jobs), "
                f"over the limit of {self.max_submit_bytes} (JobManager option MaxSubmitBytes): "
                "submit fewer jobs per call"
            )
        # Copies share one description object: what derives from it is computed once, not per copy.
        descriptions = expanded * copies if copies > 1 else expanded
        distinct = list({id(d): d for d in descriptions}.values())
        owner = Owner(caller.username, caller.group, caller.vo)
        for description in distinct:
            validate(description)
        sandboxes = dict(zip(map(id, distinct), self._check_input_sandboxes(caller, distinct), strict=True))
        planned = {id(d): _planned_job(d, owner, sandboxes[id(d)]) for d in distinct}
        return self.writer.submit(
            owner, idempotency_key, fingerprint(jdl_text, copies, owner), [planned[id(d)] for d in descriptions]
        )

    def recover_submissions(self) -> dict[str, int]:
        """Remove or complete the submissions whose writer died or failed (see `dirac_core.wms.submission`)."""
        return self.writer.recover()

    def _check_input_sandboxes(self, caller: Caller, descriptions: Sequence[JDL]) -> list[list[int]]:
        """SB: references of each job must be registered sandboxes the caller owns."""
        out: list[list[int]] = []
        for description in descriptions:
            ids: list[int] = []
            for entry in description.get_list("InputSandbox"):
                if not entry.startswith("SB:"):
                    continue
                if self.sandboxdb is None:
                    raise BadRequest(f"InputSandbox {entry}: this JobManager has no SandboxMetadataDB configured")
                se_name, pfn = parse_location(entry)
                found = self.sandboxdb.get_sandbox(se_name, pfn)
                if found is None:
                    raise BadRequest(f"InputSandbox {entry} is not in the SandboxStore: upload it first")
                if not owns(caller, {"Owner": found["Owner"], "OwnerGroup": found["OwnerGroup"], "VO": found["VO"]}):
                    raise Forbidden(f"InputSandbox {entry} belongs to {found['Owner']}: upload your own copy")
                ids.append(int(found["SBId"]))
            out.append(ids)
        return out

    # ---------------------------------------------------------------- kill and delete
    def kill(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> list[int]:
        """Kill jobs: Killed at once; those a pilot holds also get a Kill command for the pilot."""
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status"], write=True)
        finished = [f"{i} ({found[i]['Status']})" for i in ids if found[i]["Status"] in states.FINAL_STATES]
        if finished:
            raise Conflict(f"job(s) {', '.join(finished)} already finished: nothing to kill (delete them instead)")
        for job_id in ids:
            states.check_transition(job_id, found[job_id]["Status"], states.KILLED)
        held = [i for i in ids if found[i]["Status"] in states.PILOT_HELD_STATES]
        with self.jobdb.engine.begin() as conn:
            self.jobdb.add_commands([(i, "Kill", "") for i in held], caller.username, conn)
            self.jobdb.apply_status_changes(
                [
                    StatusChange(i, found[i]["Status"], states.KILLED, "Marked for termination", end_exec=True)
                    for i in ids
                ],
                conn,
            )
        self.tqdb.delete_jobs(ids)
        self.loggingdb.add_records(
            [LoggingRecord(i, states.KILLED, "Marked for termination", source=SOURCE) for i in ids]
        )
        return ids

    def delete(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> list[int]:
        """Mark jobs Deleted (DIRAC's deleteJob); a job a pilot holds is killed first."""
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status"], write=True)
        kill_first = [i for i in ids if found[i]["Status"] in states.PILOT_HELD_STATES]
        for job_id in ids:
            via = states.KILLED if job_id in kill_first else found[job_id]["Status"]
            states.check_transition(job_id, via, states.DELETED)
        with self.jobdb.engine.begin() as conn:
            self.jobdb.add_commands([(i, "Kill", "") for i in kill_first], caller.username, conn)
            self.jobdb.apply_status_changes(
                [StatusChange(i, found[i]["Status"], states.KILLED, "Marked for termination") for i in kill_first],
                conn,
            )
            self.jobdb.apply_status_changes(
                [
                    StatusChange(
                        i,
                        states.KILLED if i in kill_first else found[i]["Status"],
                        states.DELETED,
                        "Checking accounting",
                    )
                    for i in ids
                ],
                conn,
            )
        self.tqdb.delete_jobs(ids)
        records = [LoggingRecord(i, states.KILLED, "Marked for termination", source=SOURCE) for i in kill_first]
        records += [LoggingRecord(i, states.DELETED, "Checking accounting", source=SOURCE) for i in ids]
        self.loggingdb.add_records(records)
        return ids

    # ---------------------------------------------------------------- DIRAC's bulk transaction
    def confirm_bulk(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> list[int]:
        """DIRAC's confirmBulkSubmission. A DIRAC JobManager holds parametric jobs in Submitting until the
        client confirms; ours writes a submission all-or-nothing and answers only once every job is
        Waiting, so there is nothing left to confirm: the caller's accepted jobs are returned as DIRAC
        returns already activated ones, anything else refuses the whole list as DIRAC does."""
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status"], write=True)
        invalid = [f"{i} ({found[i]['Status']})" for i in ids if found[i]["Status"] not in ACCEPTED_STATES]
        if invalid:
            raise Conflict(
                f"Requested jobs for bulk transaction are not valid: job(s) {', '.join(invalid)} "
                "are not waiting to run; submit the parametric job again"
            )
        return ids

    def remove(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> list[int]:
        """DIRAC's removeJob: the jobs and every row of them go (JobDB, logging, queue, sandbox links).

        What a client undoes after a failed bulk confirmation. All ids are checked before anything is
        removed; a job a pilot holds is refused (kill it first) so no pilot reports on a vanished job."""
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status"], write=True)
        held = [f"{i} ({found[i]['Status']})" for i in ids if found[i]["Status"] in states.PILOT_HELD_STATES]
        if held:
            raise Conflict(f"job(s) {', '.join(held)} are held by a pilot: kill them first, then remove them")
        self.tqdb.delete_jobs(ids)
        if self.sandboxdb is not None:
            self.sandboxdb.unassign([job_entity(i) for i in ids])
        self.loggingdb.delete_jobs(ids)
        self.jobdb.remove_jobs(ids)  # last: a failure above leaves the jobs visible to retry the removal
        return ids

    # ---------------------------------------------------------------- reschedule
    def reschedule(self, caller: Caller, job_ids: int | str | Iterable[int | str]) -> list[int]:
        """Put jobs back into the queues; refused past MaxRescheduling reschedulings."""
        ids = parse_job_ids(job_ids)
        found = load_authorized(self.jobdb, caller, ids, ["Status", "RescheduleCounter"], write=True)
        for job_id in ids:
            states.check_transition(job_id, found[job_id]["Status"], states.RESCHEDULED)
            count = int(found[job_id]["RescheduleCounter"])
            if count >= self.max_rescheduling:
                raise Conflict(
                    f"job {job_id} was already rescheduled {count} times (MaxRescheduling = "
                    f"{self.max_rescheduling}): submit it again instead"
                )
        descriptions: dict[int, JDL] = {}
        for job_id in ids:
            text = self.jobdb.get_jdl(job_id, original=True)
            assert text is not None
            descriptions[job_id] = JDL.parse(text)
        self.tqdb.delete_jobs(ids)
        for job_id in ids:
            self.jobdb.reschedule(
                job_id,
                expected=found[job_id]["Status"],
                cycle=int(found[job_id]["RescheduleCounter"]),
                site=requested_site(descriptions[job_id]),
            )
        records = []
        for job_id in ids:
            records.append(LoggingRecord(job_id, states.RESCHEDULED, "Job Rescheduled", source=SOURCE))
            records.append(LoggingRecord(job_id, states.RECEIVED, "Job Rescheduled", source=SOURCE))
        self.loggingdb.add_records(records)
        schedule(
            self.jobdb,
            self.loggingdb,
            self.tqdb,
            [
                (
                    job_id,
                    descriptions[job_id],
                    Owner(found[job_id]["Owner"], found[job_id]["OwnerGroup"], found[job_id]["VO"]),
                )
                for job_id in ids
            ],
            SOURCE,
        )
        return ids


def _planned_job(description: JDL, owner: Owner, sandbox_ids: list[int]) -> PlannedJob:
    """The rows, queue entry and sandboxes of a job of this description (shared by its copies).

    The Jobs row is written when everything else is: directly Waiting (the history logs the steps).
    """
    attributes = job_attributes(description, owner)
    attributes.update(Status=states.WAITING, MinorStatus="Pilot Agent Submission")
    row = NewJob(
        original_jdl=description.to_text(),
        requirements=requirements_text(description, owner),
        attributes=attributes,
        render_jdl=_final_jdl_renderer(description, owner),
        input_data=input_data(description),
    )
    queued = QueuedJob(0, task_queue_definition(description, owner), priority=description.get_int("Priority", 1))
    return PlannedJob(row, queued, sandbox_ids)


def _final_jdl_renderer(description: JDL, owner: Owner) -> Callable[[int], str]:
    """JobID -> the JDL stored for the job: the description plus what DIRAC adds (JobID, owner, VO).

    The text is rendered once around a JobID placeholder; each job only fills in its number.
    """
    final = description.copy()
    final.set("JobID", 0)
    final.set("Owner", owner.owner)
    final.set("OwnerGroup", owner.owner_group)
    final.set("VirtualOrganization", owner.vo)
    before, after = final.to_text().split("\n    JobID = 0;\n", 1)
    return lambda job_id: f"{before}\n    JobID = {job_id};\n{after}"
