"""Submission across JobDB, JobLoggingDB, TaskQueueDB and SandboxMetadataDB (separate databases): a job is
either fully scheduled (Jobs row Waiting + logging history + tq_Jobs row) or not visible at all, and a
retry with the same idempotency key returns the first reply's JobIDs without writing anything.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from dirac_core.db.jobdb import JobJDLs, Jobs, JobSubmissions
from dirac_core.db.jobloggingdb import LoggingInfo
from dirac_core.db.taskqueuedb import tq_Jobs
from dirac_core.errors import Conflict, ServiceUnavailable
from dirac_core.wms.job_manager import JobManager
from dirac_core.wms.submission import SubmissionWriter

from .conftest import ALICE, BOB, SIMPLE_JDL, WMS
from .test_sandbox_store import make_tar


class Injected(RuntimeError):
    """The fault a test injects between two steps of a submission."""


def _count(wms: WMS, db: str, table: Any) -> int:
    with wms.engines[db].connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _counts(wms: WMS) -> dict[str, int]:
    return {
        "Jobs": _count(wms, "JobDB", Jobs),
        "JobJDLs": _count(wms, "JobDB", JobJDLs),
        "LoggingInfo": _count(wms, "JobLoggingDB", LoggingInfo),
        "tq_Jobs": _count(wms, "TaskQueueDB", tq_Jobs),
    }


def _visible(wms: WMS) -> list[int]:
    total, rows = wms.jobdb.search({}, ["JobID"], limit=10000)
    assert total == len(rows)
    return sorted(int(row["JobID"]) for row in rows)


def assert_fully_scheduled(wms: WMS, job_ids: list[int]) -> None:
    """Every visible job is Waiting with its three history steps and a task queue entry."""
    queued = set(wms.tqdb.queued_job_ids())
    attributes = wms.jobdb.get_attributes(job_ids, ["Status"])
    for job_id in job_ids:
        assert attributes[job_id]["Status"] == "Waiting", job_id
        history = [step["Status"] for step in wms.loggingdb.get_logging_info(job_id)]
        assert history == ["Received", "Checking", "Waiting"], (job_id, history)
        assert job_id in queued, job_id


def _manager(wms: WMS, lease: float) -> JobManager:
    return JobManager(wms.jobdb, wms.loggingdb, wms.tqdb, wms.sandboxdb, submission_lease=lease)


# ------------------------------------------------------------------------------------ idempotency
def test_retry_with_the_same_key_returns_the_same_ids_and_writes_nothing(wms: WMS) -> None:
    first = wms.manager.submit(ALICE, SIMPLE_JDL, copies=5, idempotency_key="alice-batch-1")
    before = _counts(wms)
    again = wms.manager.submit(ALICE, SIMPLE_JDL, copies=5, idempotency_key="alice-batch-1")
    assert again == first and len(set(first)) == 5
    assert _counts(wms) == before == {"Jobs": 5, "JobJDLs": 5, "LoggingInfo": 15, "tq_Jobs": 5}
    assert_fully_scheduled(wms, first)
    # The key is the owner's: bob's same key is another submission; no key is always a new one.
    bobs = wms.manager.submit(BOB, SIMPLE_JDL, idempotency_key="alice-batch-1")
    plain = wms.manager.submit(ALICE, SIMPLE_JDL)
    assert not set(bobs) & set(first) and not set(plain) & set(first)
    assert _visible(wms) == sorted(first + bobs + plain)


def test_a_key_reused_for_another_submission_is_refused(wms: WMS) -> None:
    wms.manager.submit(ALICE, SIMPLE_JDL, copies=2, idempotency_key="k")
    before = _counts(wms)
    with pytest.raises(Conflict, match="Idempotency-Key"):
        wms.manager.submit(ALICE, SIMPLE_JDL, copies=3, idempotency_key="k")
    with pytest.raises(Conflict, match="Idempotency-Key"):
        wms.manager.submit(ALICE, SIMPLE_JDL.replace("hello", "other"), copies=2, idempotency_key="k")
    assert _counts(wms) == before


# ------------------------------------------------------------------------------------ faults between steps
def _die_on_failure(patch: pytest.MonkeyPatch) -> None:
    """What a kill -9 leaves: no clean-up after the failed step (recovery has to do it)."""
    patch.setattr(SubmissionWriter, "_abandon", lambda _self, _submission: None)


def _raise(what: str) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise Injected(f"{what} failed")

    return fail


@pytest.mark.parametrize("died", [False, True], ids=["step-fails", "process-dies"])
@pytest.mark.parametrize(
    ("db", "method"),
    [("sandboxdb", "assign"), ("loggingdb", "add_records"), ("tqdb", "insert_jobs"), ("jobdb", "make_visible")],
)
def test_a_fault_before_the_jobs_are_visible_leaves_nothing_visible(
    wms: WMS, monkeypatch: pytest.MonkeyPatch, db: str, method: str, died: bool
) -> None:
    manager = _manager(wms, lease=0)
    data = make_tar({"run.sh": b"#!/bin/sh\necho hi\n"})
    sandbox = wms.sandboxes.upload(ALICE, [data], hashlib.sha256(data).hexdigest()).location
    jdl = SIMPLE_JDL.replace("]", f'    InputSandbox = {{"{sandbox}"}};\n]')
    with monkeypatch.context() as patch:
        patch.setattr(getattr(wms, db), method, _raise(f"{db}.{method}"))
        if died:
            _die_on_failure(patch)
        with pytest.raises(Injected):
            manager.submit(ALICE, jdl, copies=5, idempotency_key="k1")
    assert _visible(wms) == []
    assert manager.recover_submissions() == {"removed": int(died), "completed": 0}
    assert _counts(wms) == {"Jobs": 0, "JobJDLs": 0, "LoggingInfo": 0, "tq_Jobs": 0}
    assert _count(wms, "JobDB", JobSubmissions) == 0
    assert wms.sandboxdb.sandboxes_of("Job:1") == []
    # The client's retry with the same key now makes the jobs, fully scheduled.
    ids = manager.submit(ALICE, jdl, copies=5, idempotency_key="k1")
    assert _visible(wms) == sorted(ids)
    assert_fully_scheduled(wms, ids)
    assert [sb["SBId"] for sb in wms.sandboxdb.sandboxes_of(f"Job:{ids[0]}")] != []


def test_a_retry_finds_its_dead_submission_and_recovers_it_first(wms: WMS, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = _manager(wms, lease=0)
    with monkeypatch.context() as patch:
        patch.setattr(wms.tqdb, "insert_jobs", _raise("tq"))
        _die_on_failure(patch)
        with pytest.raises(Injected):
            manager.submit(ALICE, SIMPLE_JDL, copies=3, idempotency_key="k2")
    assert _count(wms, "JobDB", JobSubmissions) == 1
    ids = manager.submit(ALICE, SIMPLE_JDL, copies=3, idempotency_key="k2")  # no sweep ran
    assert _visible(wms) == sorted(ids) and _counts(wms)["JobJDLs"] == 3
    assert_fully_scheduled(wms, ids)


def test_a_retry_while_the_first_attempt_still_runs_is_told_to_wait(wms: WMS, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = _manager(wms, lease=3600)
    with monkeypatch.context() as patch:
        patch.setattr(wms.tqdb, "insert_jobs", _raise("tq"))
        _die_on_failure(patch)  # as if it were still running: its lease has not run out
        with pytest.raises(Injected):
            manager.submit(ALICE, SIMPLE_JDL, idempotency_key="k3")
    with pytest.raises(ServiceUnavailable, match="retry"):
        manager.submit(ALICE, SIMPLE_JDL, idempotency_key="k3")
    assert manager.recover_submissions() == {"removed": 0, "completed": 0}  # its lease still runs
    assert _visible(wms) == []


def test_a_fault_after_the_jobs_are_visible_is_completed_by_recovery(wms: WMS, monkeypatch: pytest.MonkeyPatch) -> None:
    """Visible but not yet confirmed in the task queues (a pilot took a queue entry of a not yet visible
    job, then the process died): recovery puts every Waiting job back into its queue."""
    manager = _manager(wms, lease=0)
    real_make_visible = wms.jobdb.make_visible

    def steal_then_flip(*args: Any, **kwargs: Any) -> Any:
        wms.tqdb.delete_jobs(wms.tqdb.queued_job_ids()[:2])  # a Matcher claimed them: no Jobs row yet, dropped
        return real_make_visible(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(wms.jobdb, "make_visible", steal_then_flip)
        patch.setattr(wms.jobdb, "finish_submission", _raise("finish"))
        with pytest.raises(Injected):
            manager.submit(ALICE, SIMPLE_JDL, copies=4, idempotency_key="k4")
    visible = _visible(wms)
    assert len(visible) == 4
    assert manager.recover_submissions() == {"removed": 0, "completed": 1}
    assert_fully_scheduled(wms, visible)
    assert manager.submit(ALICE, SIMPLE_JDL, copies=4, idempotency_key="k4") == visible


def test_a_stolen_queue_entry_is_put_back_before_the_reply(wms: WMS, monkeypatch: pytest.MonkeyPatch) -> None:
    real_make_visible = wms.jobdb.make_visible

    def steal_then_flip(*args: Any, **kwargs: Any) -> Any:
        wms.tqdb.delete_jobs(wms.tqdb.queued_job_ids()[:1])
        return real_make_visible(*args, **kwargs)

    monkeypatch.setattr(wms.jobdb, "make_visible", steal_then_flip)
    ids = wms.manager.submit(ALICE, SIMPLE_JDL, copies=3)
    assert_fully_scheduled(wms, ids)


def test_keyless_submissions_leave_no_bookkeeping(wms: WMS) -> None:
    wms.manager.submit(ALICE, SIMPLE_JDL, copies=3)
    assert _count(wms, "JobDB", JobSubmissions) == 0


# ------------------------------------------------------------------------------------ older schema
def test_a_jobdb_below_schema_1_2_still_takes_submissions(wms: WMS) -> None:
    """A site held at an older schema release (the lab's old FG site is at 1.0 until it moves) has no
    JobSubmissions: submissions are written as before 1.2, keys are not remembered, recovery has
    nothing to do; neither fails (seen in the lab: every submission there was a 500)."""
    with wms.engines["JobDB"].begin() as conn:
        JobSubmissions.drop(conn)
    manager = _manager(wms, lease=0)
    assert not manager.jobdb.has_submission_ledger()
    first = manager.submit(ALICE, SIMPLE_JDL, copies=3, idempotency_key="k")
    again = manager.submit(ALICE, SIMPLE_JDL, copies=3, idempotency_key="k")
    assert len(set(first + again)) == 6  # no ledger: a retry is a new submission, as before 1.2
    assert_fully_scheduled(wms, first + again)
    assert manager.recover_submissions() == {"removed": 0, "completed": 0}
