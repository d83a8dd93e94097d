"""Job states and the checked state machine (DIRAC's ``JobStatus.JobsStateMachine``).

The table is DIRAC's, plus two edges DIRAC reaches by forcing: ``Running -> Completed`` (pilots that
report the payload end before the output upload) and ``Killed`` from the not-yet-running states
(a user kills a job still waiting in a task queue).
"""

from __future__ import annotations

from dirac_core.errors import Conflict

SUBMITTING = "Submitting"
RECEIVED = "Received"
CHECKING = "Checking"
STAGING = "Staging"
WAITING = "Waiting"
MATCHED = "Matched"
RESCHEDULED = "Rescheduled"
RUNNING = "Running"
STALLED = "Stalled"
COMPLETING = "Completing"
COMPLETED = "Completed"
DONE = "Done"
FAILED = "Failed"
KILLED = "Killed"
DELETED = "Deleted"

TRANSITIONS: dict[str, frozenset[str]] = {
    SUBMITTING: frozenset({RECEIVED, CHECKING, DELETED, KILLED}),
    RECEIVED: frozenset({CHECKING, WAITING, FAILED, DELETED, KILLED}),
    CHECKING: frozenset({STAGING, WAITING, RESCHEDULED, FAILED, DELETED, KILLED}),
    STAGING: frozenset({WAITING, FAILED, KILLED}),
    WAITING: frozenset({MATCHED, RESCHEDULED, DELETED, KILLED}),
    MATCHED: frozenset({RUNNING, FAILED, RESCHEDULED, KILLED}),
    RESCHEDULED: frozenset({WAITING, RECEIVED, DELETED, FAILED, KILLED}),
    RUNNING: frozenset({STALLED, DONE, FAILED, RESCHEDULED, COMPLETING, COMPLETED, KILLED, RECEIVED}),
    STALLED: frozenset({RUNNING, FAILED, KILLED}),
    COMPLETING: frozenset({DONE, FAILED, COMPLETED, STALLED, KILLED}),
    COMPLETED: frozenset({DONE, FAILED}),
    DONE: frozenset({DELETED}),
    FAILED: frozenset({RESCHEDULED, DELETED}),
    KILLED: frozenset({DELETED}),
    DELETED: frozenset(),
}

JOB_STATES: tuple[str, ...] = tuple(TRANSITIONS)
# The payload has finished (DIRAC's JOB_FINAL_STATES), plus the states nothing more happens in.
FINAL_STATES = frozenset({DONE, COMPLETED, FAILED, KILLED, DELETED})
# A pilot holds the job: killing it needs a command the pilot reads with its next heartbeat.
PILOT_HELD_STATES = frozenset({MATCHED, RUNNING, STALLED, COMPLETING})


def can_move(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def check_transition(job_id: int, current: str, new: str) -> None:
    """Raise Conflict naming both states when `current -> new` is not allowed."""
    if new not in TRANSITIONS:
        from dirac_core.errors import BadRequest

        raise BadRequest(f"unknown job status {new!r}: use one of {', '.join(JOB_STATES)}")
    if not can_move(current, new):
        allowed = ", ".join(sorted(TRANSITIONS.get(current, frozenset()))) or "none (final state)"
        raise Conflict(f"job {job_id} cannot go from {current} to {new}: allowed from {current}: {allowed}")
