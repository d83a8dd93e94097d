"""JobManager on real databases (SQLite and MariaDB): submit, bulk, parametric, kill, delete, reschedule."""

from __future__ import annotations

import pytest

from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound
from dirac_core.jdl import JDL, JDLError
from dirac_core.wms import states

from .conftest import ADMIN, ALICE, BOB, PILOT, SIMPLE_JDL, WMS


def test_submit_single_job_reaches_waiting_with_history(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    attrs = wms.monitoring.get_job_attributes(ALICE, job_id)
    assert (attrs["Status"], attrs["Owner"], attrs["OwnerGroup"], attrs["VO"]) == (
        "Waiting",
        "alice",
        "egi_user",
        "egi",
    )
    assert attrs["JobName"] == "hello" and attrs["Site"] == "ANY"
    history = [step["Status"] for step in wms.monitoring.get_job_logging_info(ALICE, job_id)]
    assert history == ["Received", "Checking", "Waiting"]
    stored = JDL.parse(wms.monitoring.get_job_jdl(ALICE, job_id))
    assert stored.get("JobID") == job_id and stored.get("Owner") == "alice"
    assert wms.tqdb.queued_job_ids() == [job_id]


def test_bulk_copies_and_parametric(wms: WMS) -> None:
    copies = wms.manager.submit(ALICE, SIMPLE_JDL, copies=5)
    assert len(copies) == 5 and len(set(copies)) == 5
    parametric = wms.manager.submit(
        ALICE, '[Executable = "x"; Parameters = {"a", "b", "c"}; Arguments = "%s"; JobName = "p_%n";]'
    )
    assert len(parametric) == 3
    names = [wms.monitoring.get_job_attributes(ALICE, i, ["JobName"])["JobName"] for i in parametric]
    assert names == ["p_0", "p_1", "p_2"]
    args = [JDL.parse(wms.monitoring.get_job_jdl(ALICE, i)).get("Arguments") for i in parametric]
    assert args == ["a", "b", "c"]
    assert sorted(wms.tqdb.queued_job_ids()) == sorted(copies + parametric)


def test_invalid_submissions_change_nothing(wms: WMS) -> None:
    with pytest.raises(JDLError, match="line 3"):
        wms.manager.submit(ALICE, '[\n Executable = "x";\n CPUTime = 10\n Priority = 1;\n]')
    with pytest.raises(JDLError, match="no Executable"):
        wms.manager.submit(ALICE, '[ Arguments = "x"; ]')
    with pytest.raises(JDLError, match="Priority = 99"):
        wms.manager.submit(ALICE, '[ Executable = "x"; Priority = 99; ]')
    with pytest.raises(BadRequest, match="not in the SandboxStore"):
        wms.manager.submit(ALICE, '[ Executable = "x"; InputSandbox = {"SB:ProductionSandboxSE|/egi/x.tar"}; ]')
    with pytest.raises(Forbidden):
        wms.manager.submit(PILOT, SIMPLE_JDL)
    assert wms.jobdb.max_job_id() == 0


def test_job_ids_start_above_floor(wms: WMS) -> None:
    [first] = wms.manager.submit(ALICE, SIMPLE_JDL)
    wms.jobdb.ensure_min_job_id(5000)
    [second] = wms.manager.submit(ALICE, SIMPLE_JDL)
    assert first == 1 and second == 5000
    wms.jobdb.ensure_min_job_id(100)  # a lower floor never moves ids back
    assert wms.manager.submit(ALICE, SIMPLE_JDL) == [5001]
    wms.jobdb.remove_jobs([5001])  # ids are never reused, even after removal
    assert wms.manager.submit(ALICE, SIMPLE_JDL) == [5002]


def test_kill_waiting_job_leaves_queue_without_command(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    assert wms.manager.kill(ALICE, job_id) == [job_id]
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == "Killed"
    assert wms.tqdb.queued_job_ids() == []
    assert wms.jobdb.get_commands(job_id) == []
    with pytest.raises(Conflict, match="already finished"):
        wms.manager.kill(ALICE, job_id)


def test_kill_running_job_sends_command_with_next_heartbeat(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    assert wms.matcher.request_job(PILOT, {"CPUTime": 86400, "Site": "EGI.A.fr"}) is not None
    wms.state.set_status(PILOT, job_id, "Running", "Application")
    assert wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 1.5, "MemoryUsed": 100}) == {}
    wms.manager.kill(ALICE, [job_id])
    commands = wms.jobdb.get_commands(job_id)
    assert [(c["Command"], c["Status"], c["Issuer"]) for c in commands] == [("Kill", "Received", "alice")]
    assert wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 2.5}) == {"Kill": ""}
    assert wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 3.0}) == {}  # delivered once
    assert wms.jobdb.get_commands(job_id)[0]["Status"] == "Sent"
    with pytest.raises(Conflict, match="from Killed to Done"):
        wms.state.set_status(PILOT, job_id, "Done", "Execution Complete")


def test_other_users_job_is_forbidden_and_unchanged(wms: WMS) -> None:
    [mine] = wms.manager.submit(ALICE, SIMPLE_JDL)
    [theirs] = wms.manager.submit(BOB, SIMPLE_JDL)
    for action in (wms.manager.kill, wms.manager.delete, wms.manager.reschedule):
        with pytest.raises(Forbidden, match=str(theirs)):
            action(ALICE, [mine, theirs])
    with pytest.raises(Forbidden):
        wms.monitoring.get_jobs_status(ALICE, theirs)
    status = wms.monitoring.get_jobs_status(ADMIN, [mine, theirs])
    assert {s["Status"] for s in status.values()} == {"Waiting"}
    assert sorted(wms.tqdb.queued_job_ids()) == sorted([mine, theirs])
    # the administrator may act on anyone's job
    assert wms.manager.kill(ADMIN, theirs) == [theirs]


def test_unknown_job_is_not_found_and_nothing_changes(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    with pytest.raises(NotFound, match="no job 999999"):
        wms.manager.kill(ALICE, [job_id, 999999])
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == "Waiting"
    with pytest.raises(NotFound):
        wms.monitoring.get_job_attributes(ALICE, 424242)
    with pytest.raises(NotFound):
        wms.state.set_status(PILOT, 424242, "Running")
    with pytest.raises(BadRequest, match="not an integer"):
        wms.manager.kill(ALICE, ["x1"])


def test_delete_running_job_kills_then_deletes(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    wms.matcher.request_job(PILOT, {"CPUTime": 86400})
    wms.state.set_status(PILOT, job_id, "Running")
    wms.manager.delete(ALICE, job_id)
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == "Deleted"
    assert [c["Command"] for c in wms.jobdb.get_commands(job_id)] == ["Kill"]
    history = [h["Status"] for h in wms.monitoring.get_job_logging_info(ALICE, job_id)]
    assert history[-2:] == ["Killed", "Deleted"]


def test_reschedule_failed_job_up_to_the_limit(wms: WMS) -> None:
    wms.manager.max_rescheduling = 2
    [job_id] = wms.manager.submit(ALICE, '[Executable = "x"; Site = "EGI.A.fr"; CPUTime = 100;]')
    for cycle in range(2):
        match = wms.matcher.request_job(PILOT, {"CPUTime": 1000, "Site": "EGI.A.fr", "PilotReference": f"p{cycle}"})
        assert match is not None and match["JobID"] == job_id
        wms.state.set_status(PILOT, job_id, "Running", "Application")
        wms.state.set_parameters(PILOT, job_id, [("CPUNormalizationFactor", str(cycle))])
        wms.state.heartbeat(PILOT, job_id, {"CPUConsumed": 5})
        wms.state.set_status(PILOT, job_id, "Failed", "Application Finished With Errors")
        assert wms.manager.reschedule(ALICE, job_id) == [job_id]
        attrs = wms.monitoring.get_job_attributes(ALICE, job_id)
        assert attrs["Status"] == "Waiting" and attrs["RescheduleCounter"] == cycle + 1
        assert attrs["Site"] == "EGI.A.fr" and attrs["RescheduleTime"] is not None
        assert wms.monitoring.get_job_parameters(ALICE, job_id)[job_id] == {}
        assert wms.jobdb.get_attic_parameters(job_id)[cycle] == {"CPUNormalizationFactor": str(cycle)}
        assert wms.jobdb.get_heartbeat_data(job_id) == []
    wms.matcher.request_job(PILOT, {"CPUTime": 1000, "Site": "EGI.A.fr"})
    wms.state.set_status(PILOT, job_id, "Failed", "Stalled")
    with pytest.raises(Conflict, match="rescheduled 2 times"):
        wms.manager.reschedule(ALICE, job_id)
    assert wms.monitoring.get_job_attributes(ALICE, job_id, ["Status"])["Status"] == "Failed"
    assert len(wms.pilotdb.pilots_for_job(job_id)) == 3
    history = [h["Status"] for h in wms.monitoring.get_job_logging_info(ALICE, job_id)]
    assert history.count("Rescheduled") == 2


def test_reschedule_of_done_job_is_a_conflict(wms: WMS) -> None:
    [job_id] = wms.manager.submit(ALICE, SIMPLE_JDL)
    wms.matcher.request_job(PILOT, {"CPUTime": 86400})
    for status in ("Running", "Completed", "Done"):
        wms.state.set_status(PILOT, job_id, status)
    with pytest.raises(Conflict, match="from Done to Rescheduled"):
        wms.manager.reschedule(ALICE, job_id)
    assert wms.monitoring.get_jobs_status(ALICE, job_id)[job_id]["Status"] == states.DONE
