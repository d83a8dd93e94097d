"""A submission written across JobDB, JobLoggingDB, TaskQueueDB and SandboxMetadataDB, all-or-nothing.

These are separate databases (SQLite files, MariaDB schemas, possibly servers): no transaction spans
them. So a submission is a state machine whose states live in JobDB (``JobSubmissions``):

1. **Reserved** (one JobDB transaction): JobIDs taken in ``JobJDLs``, the submission row written. No
   ``Jobs`` row exists, so no reader sees the jobs (every query starts from ``Jobs``).
2. Sandbox assignments, the logging history (Received, Checking, Waiting) and the task queue entries.
3. **Visible** (one JobDB transaction): the ``Jobs`` rows, directly Waiting, and ``InputData``.
4. The task queue entries checked: a Matcher that took one before step 3 found no Waiting job and
   dropped it; it is put back. Then **Done**: the row is deleted, or kept for `KEY_RETENTION` when the
   client sent an idempotency key (key -> JobIDs).

The reply goes out only after Done. Each step renews the holder's lease; a submission whose lease ran
out (its process died, or a step failed) is recovered, by the periodic sweep or by the client's retry
with the same key: Reserved ones are removed (their jobs were never visible nor acknowledged: a retry
submits them again), Visible ones are completed (their jobs are visible: they get their queue entries).
Recovery takes a submission over with a compare-and-set on its token, so a slow holder that comes back
finds it taken and stops (its reply is an error; the client retries with its key).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from dirac_core.db.jobdb import (
    DONE,
    RESERVED,
    VISIBLE,
    JobDB,
    NewJob,
    Submission,
    SubmissionRequest,
)
from dirac_core.db.jobloggingdb import JobLoggingDB, LoggingRecord
from dirac_core.db.sandboxmetadatadb import SandboxMetadataDB, job_entity
from dirac_core.db.taskqueuedb import QueuedJob, TaskQueueDB
from dirac_core.db.types import utcnow
from dirac_core.errors import Conflict, ServiceUnavailable
from dirac_core.wms import states
from dirac_core.wms.scheduling import Owner, queued_jobs_of

log = logging.getLogger(__name__)

SUBMISSION_LEASE = 60  # seconds: default of the JobManager option SubmissionLease
KEY_RETENTION = 86400  # seconds a Done submission's idempotency key is remembered
KEY_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"  # a UUID, a ULID, "batch-42:3", ...


@dataclass(frozen=True)
class PlannedJob:
    """One job of a submission: its JobDB rows, its task queue entry (JobID 0 until reserved), its sandboxes."""

    row: NewJob
    queued: QueuedJob
    sandbox_ids: Sequence[int]


def fingerprint(jdl_text: str, copies: int, owner: Owner) -> str:
    """What a retry must repeat to get the first reply: the JDL, the copies and the group."""
    digest = hashlib.sha256(f"{owner.owner_group}\n{copies}\n".encode())
    digest.update(jdl_text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _token() -> str:
    return secrets.token_hex(16)


@dataclass
class SubmissionWriter:
    jobdb: JobDB
    loggingdb: JobLoggingDB
    tqdb: TaskQueueDB
    sandboxdb: SandboxMetadataDB | None
    source: str
    lease: float = SUBMISSION_LEASE

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- submission
    def submit(self, owner: Owner, key: str | None, print_: str, jobs: Sequence[PlannedJob]) -> list[int]:
        """Write `jobs` (all or nothing); with `key`, a repeated call returns the first call's JobIDs."""
        request = SubmissionRequest(owner.owner, owner.owner_group, owner.vo, key, print_, _token())
        rows = [job.row for job in jobs]
        for _attempt in range(3):
            if key is not None:
                existing = self.jobdb.find_submission(owner.owner, key)
                if existing is not None:
                    answer = self._answer_retry(existing, print_)
                    if answer is not None:
                        return answer
                    continue  # it was removed: submit anew (or someone else moved it: look again)
            submission = self.jobdb.reserve_submission(request, rows)
            if submission is not None:
                self._complete(submission, jobs)
                return submission.job_ids
        raise ServiceUnavailable(
            f"the submission with Idempotency-Key {key!r} kept changing under concurrent retries: retry it"
        )

    def _answer_retry(self, existing: Submission, print_: str) -> list[int] | None:
        """The JobIDs of an earlier submission with the same key; None when it was removed (submit anew)."""
        if existing.request.fingerprint != print_:
            raise Conflict(
                f"Idempotency-Key {existing.request.key!r} was used for another submission (other JDL, copies "
                "or group): send a new key for a new submission"
            )
        if existing.state == DONE:
            return existing.job_ids
        if not self._expired(existing):
            raise ServiceUnavailable(
                f"the submission with Idempotency-Key {existing.request.key!r} is still being written: "
                "retry in a few seconds"
            )
        outcome = self._recover(existing)
        return existing.job_ids if outcome == "completed" else None

    def _expired(self, submission: Submission) -> bool:
        return submission.lease_time <= utcnow() - timedelta(seconds=self.lease)

    def _complete(self, submission: Submission, jobs: Sequence[PlannedJob]) -> None:
        try:
            queued = self._write_around(submission, jobs)
            self.jobdb.make_visible(submission, [job.row for job in jobs])
        except Exception:
            self._abandon(submission)
            raise
        # Visible: from here on a failure leaves the rest (queue check, Done) to recovery.
        self._requeue_missing(queued)
        self.jobdb.finish_submission(replace(submission, state=VISIBLE))

    def _write_around(self, submission: Submission, jobs: Sequence[PlannedJob]) -> list[QueuedJob]:
        """What the other databases hold of the reserved jobs: sandbox assignments, history, queue entries."""
        ids = submission.job_ids
        if self.sandboxdb is not None:
            mappings = [
                (sb_id, job_entity(job_id), "Input")
                for job_id, job in zip(ids, jobs, strict=True)
                for sb_id in job.sandbox_ids
            ]
            if mappings:
                self.sandboxdb.assign(mappings)
        records = []
        for job_id in ids:
            records.append(LoggingRecord(job_id, states.RECEIVED, "Job accepted", source=self.source))
            records.append(LoggingRecord(job_id, states.CHECKING, "JobSanity", source=self.source))
            records.append(LoggingRecord(job_id, states.WAITING, "Pilot Agent Submission", source=self.source))
        self.loggingdb.add_records(records, new_jobs=True)
        queued = [replace(job.queued, job_id=job_id) for job_id, job in zip(ids, jobs, strict=True)]
        self.tqdb.insert_jobs(queued)
        return queued

    def _abandon(self, submission: Submission) -> None:
        """Remove what a failed step left (best effort: if this fails too, recovery removes it later)."""
        try:
            self._remove(submission)
        except Exception:  # the caller re-raises the first error; this one goes to the service log
            log.exception("submission %s could not be removed now: recovery will", submission.submission_id)

    def _remove(self, submission: Submission) -> None:
        """A Reserved submission's rows in every database, JobDB's last (the row recovery looks for)."""
        ids = submission.job_ids
        self.tqdb.delete_jobs(ids)
        self.loggingdb.delete_jobs(ids)
        if self.sandboxdb is not None:
            self.sandboxdb.unassign([job_entity(i) for i in ids])
        self.jobdb.remove_reserved(submission)

    def _requeue_missing(self, queued: Sequence[QueuedJob]) -> int:
        """Put back the queue entries of still Waiting jobs that a Matcher dropped before they were visible."""
        present = self.tqdb.queued_among([job.job_id for job in queued])
        missing = [job for job in queued if job.job_id not in present]
        if not missing:
            return 0
        found = self.jobdb.get_attributes([job.job_id for job in missing], ["Status"])
        waiting = [job for job in missing if found.get(job.job_id, {}).get("Status") == states.WAITING]
        self.tqdb.insert_jobs(waiting)
        return len(waiting)

    # ---------------------------------------------------------------- recovery
    def _recover(self, submission: Submission) -> str | None:
        """Remove a Reserved submission or complete a Visible one; None when another holder moved it first."""
        token = _token()
        if not self.jobdb.take_over_submission(submission, token):
            return None
        mine = submission.held_by(token)
        ids = mine.job_ids
        if mine.state == RESERVED:
            self._remove(mine)
            log.warning("removed the unfinished submission %s (JobIDs %s)", mine.submission_id, _span(ids))
            return "removed"
        self._requeue_missing(queued_jobs_of(self.jobdb, ids))
        self.jobdb.finish_submission(mine)
        log.warning("completed the unfinished submission %s (JobIDs %s)", mine.submission_id, _span(ids))
        return "completed"

    def recover(self, limit: int = 100) -> dict[str, int]:
        """One sweep: recover the submissions whose lease ran out; forget keys older than `KEY_RETENTION`."""
        now = utcnow()
        self.jobdb.purge_submissions(now - timedelta(seconds=KEY_RETENTION))
        counts = {"removed": 0, "completed": 0}
        for submission in self.jobdb.unfinished_submissions(now - timedelta(seconds=self.lease), limit):
            outcome = self._recover(submission)
            if outcome is not None:
                counts[outcome] += 1
        return counts

    def start_recovery(self, interval: float) -> None:
        """Sweep every `interval` seconds in a daemon thread (the JobManager service does, from its start)."""
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, args=(interval,), name="submission-recovery", daemon=True)
        self._thread.start()

    def stop_recovery(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _loop(self, interval: float) -> None:
        last_error = ""
        while not self._stop.is_set():
            try:
                self.recover()
                last_error = ""
            except Exception as exc:  # a DB hiccup must not end the loop; the next pass retries
                if str(exc) != last_error:
                    log.exception("submission recovery pass failed")
                    last_error = str(exc)
            self._stop.wait(interval)


def _span(ids: Sequence[int]) -> str:
    return f"{ids[0]}..{ids[-1]}" if len(ids) > 1 else ",".join(map(str, ids))
