"""The job state machine through JobStateUpdate on real databases: every edge DIRAC allows, none else."""

from __future__ import annotations

import pytest

from dirac_core.errors import BadRequest, Conflict, Forbidden
from dirac_core.wms import states

from .conftest import ALICE, PILOT, SIMPLE_JDL, WMS


def _matched_job(wms: WMS) -> int:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    match = wms.matcher.request_job(PILOT, {"CPUTime": 86400, "Site": "EGI.A.fr"})
    assert match is not None and match["JobID"] == job_id
    return job_id


def test_happy_path_to_done_with_times_and_history(wms: WMS) -> None:
    job_id = _matched_job(wms)
    for status, minor in (
        ("Running", "Application"),
        ("Completed", "Uploading output"),
        ("Done", "Execution Complete"),
    ):
        wms.state.set_status(PILOT, job_id, status, minor, source="JobWrapper")
    wms.state.set_status(PILOT, job_id, minor_status="Output uploaded")  # minor-only update keeps Done
    attrs = wms.monitoring.get_job_attributes(ALICE, job_id)
    assert (attrs["Status"], attrs["MinorStatus"]) == ("Done", "Output uploaded")
    assert attrs["StartExecTime"] is not None and attrs["EndExecTime"] is not None
    history = wms.monitoring.get_job_logging_info(ALICE, job_id)
    assert [h["Status"] for h in history] == [
        "Received",
        "Checking",
        "Waiting",
        "Matched",
        "Running",
        "Completed",
        "Done",
        "Done",
    ]
    assert history[-1]["MinorStatus"] == "Output uploaded" and history[-1]["Source"] == "Unknown"
    assert history[4]["Source"] == "JobWrapper"


def test_stalled_job_revived_by_heartbeat(wms: WMS) -> None:
    job_id = _matched_job(wms)
    wms.state.set_status(PILOT, job_id, "Running")
    wms.state.set_status(PILOT, job_id, "Stalled", "Job stalled: pilot not running")
    assert wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 10, "MemoryUsed": 2048}) == {}
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == "Running"
    names = {name for name, _, _ in wms.monitoring.get_heartbeat_data(ALICE, job_id)}
    assert names == {"CPUConsumed", "MemoryUsed"}
    assert wms.monitoring.get_job_attributes(ALICE, job_id, ["HeartBeatTime"])["HeartBeatTime"] is not None


ILLEGAL = [
    ((), "Running"),  # Waiting -> Running skips Matched
    ((), "Done"),
    (("Running",), "Waiting"),
    (("Running", "Done"), "Running"),
    (("Running", "Failed"), "Done"),
    (("Running", "Completed"), "Running"),
]


def test_illegal_transitions_conflict_and_change_nothing(wms: WMS) -> None:
    for path, illegal in ILLEGAL:
        [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
        if path:
            assert wms.matcher.request_job(PILOT, {"CPUTime": 86400})["JobID"] == job_id  # type: ignore[index]
        for status in path:
            wms.state.set_status(PILOT, job_id, status)
        before = wms.monitoring.get_job_attributes(ALICE, job_id)
        history = wms.monitoring.get_job_logging_info(ALICE, job_id)
        with pytest.raises(Conflict) as err:
            wms.state.set_status(PILOT, job_id, illegal, "should not happen")
        assert f"from {before['Status']} to {illegal}" in str(err.value)
        assert wms.monitoring.get_job_attributes(ALICE, job_id) == before
        assert wms.monitoring.get_job_logging_info(ALICE, job_id) == history
        if not path:
            wms.manager.kill(ALICE, job_id)  # out of the queue for the next case


def test_table_matches_dirac_edges() -> None:
    assert states.can_move("Waiting", "Matched") and states.can_move("Matched", "Running")
    assert states.can_move("Running", "Stalled") and states.can_move("Stalled", "Running")
    assert states.can_move("Failed", "Rescheduled") and states.can_move("Rescheduled", "Waiting")
    assert not states.can_move("Done", "Running") and not states.can_move("Deleted", "Received")
    assert states.TRANSITIONS["Deleted"] == frozenset()


def test_only_pilots_report_and_bad_values_are_refused(wms: WMS) -> None:
    job_id = _matched_job(wms)
    with pytest.raises(Forbidden, match="GenericPilot"):
        wms.state.set_status(ALICE, job_id, "Running")
    with pytest.raises(Forbidden):
        wms.state.heartbeat(ALICE, job_id, {"CPUConsumed": 1})
    with pytest.raises(BadRequest, match="unknown job status"):
        wms.state.set_status(PILOT, job_id, "Sleeping")
    with pytest.raises(BadRequest, match="unknown heartbeat value"):
        wms.state.heartbeat(PILOT, job_id, {"Temperature": 40})
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == "Matched"


def test_parameters_and_application_status(wms: WMS) -> None:
    job_id = _matched_job(wms)
    wms.state.set_parameters(PILOT, job_id, [("HostName", "wn01"), ("CPUNormalizationFactor", "10.5")])
    wms.state.set_parameters(PILOT, job_id, [("HostName", "wn02")])
    wms.state.set_application_status(PILOT, job_id, "step 2/3", "JobWrapper")
    assert wms.monitoring.get_job_parameters(ALICE, job_id)[job_id] == {
        "HostName": "wn02",
        "CPUNormalizationFactor": "10.5",
    }
    assert wms.monitoring.get_job_parameters(ALICE, job_id, ["HostName"])[job_id] == {"HostName": "wn02"}
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["ApplicationStatus"] == "step 2/3"
    assert wms.monitoring.get_job_logging_info(ALICE, job_id)[-1]["ApplicationStatus"] == "step 2/3"


def _deadlock_once(real, calls: list[int]):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("stmt", {}, Exception(1213, "Deadlock found when trying to get lock"))
        return real(*args, **kwargs)

    return wrapper


def test_a_deadlock_on_a_pilot_report_is_retried_not_a_500(wms: WMS, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lab: Matched -> Running hit an InnoDB deadlock, the pilot got a 500 and gave the job up (left
    Matched for good). Status change, logging record, parameters and heartbeat each retry theirs."""
    job_id = _matched_job(wms)
    status_calls: list[int] = []
    logging_calls: list[int] = []
    monkeypatch.setattr(wms.jobdb, "_in_transaction", _deadlock_once(wms.jobdb._in_transaction, status_calls))
    monkeypatch.setattr(wms.loggingdb, "append", _deadlock_once(wms.loggingdb.append, logging_calls))
    wms.state.set_status(PILOT, job_id, "Running", "Job Initialization")
    assert len(status_calls) == 2 and len(logging_calls) == 2
    assert wms.monitoring.get_jobs_status(ALICE, [job_id])[job_id]["Status"] == "Running"
    history = [(r["Status"], r["MinorStatus"]) for r in wms.monitoring.get_job_logging_info(ALICE, job_id)]
    assert history.count(("Running", "Job Initialization")) == 1  # retried, not written twice
    status_calls.clear()
    wms.state.set_parameters(PILOT, job_id, [("ExitCode", "0")])
    wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 1.0})
    assert len(status_calls) == 3  # parameters: failed once + once; heartbeat: once
