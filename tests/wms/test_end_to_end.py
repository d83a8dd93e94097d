"""Jobs end to end over HTTPS, on SQLite and on MariaDB: every WMS service and Framework/Auth as its own
`dirac-core serve` process, users through `JobsClient`, pilots as `dirac-core pilot` subprocesses.

Acceptance of issue 2: 100 jobs with input sandboxes run by 2 pilots until Done, every output checked;
a running job killed within one heartbeat; a Failed job rescheduled and run again; refusals over HTTPS
(other users' jobs, pilot-only methods, bad tokens, bad input) change nothing; a DIRAC TornadoClient
form post to JobMonitoring.getJobsStatus.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dirac_core.client.jobs import JobsClient
from dirac_core.errors import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from tests.support.instance import DIRAC_CORE, ROOT, LocalInstance, running_instance, subprocess_env
from tests.support.mariadb import scratch_database

from .conftest import WMS_DBS

WMS = [
    "Framework/Auth",
    "WorkloadManagement/JobManager",
    "WorkloadManagement/JobMonitoring",
    "WorkloadManagement/JobStateUpdate",
    "WorkloadManagement/Matcher",
    "WorkloadManagement/SandboxStore",
]
SITE = "DIRAC.Local.ch"
HEARTBEAT = 2.0
N_JOBS = 100

RUN_SH = """#!/bin/sh
echo "job $DIRACJOBID at $DIRACSITE read: $(cat input.txt)" > out.txt
echo "stdout of $DIRACJOBID"
"""
JOB_JDL = """[
    Executable = "run.sh";
    JobName = "e2e";
    InputSandbox = {"run.sh", "input.txt"};
    OutputSandbox = {"out.txt", "std.out"};
    CPUTime = 600;
]"""


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def instance(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    tmp = tmp_path_factory.mktemp(f"e2e-{request.param}")
    extra = {"Systems": {"WorkloadManagement": {"Local": {"Services": {"SandboxStore": {"MaxSandboxSizeMiB": 1}}}}}}
    init = [["dirac-core", "db", "init"]]
    if request.param == "sqlite":
        with running_instance(tmp, WMS, extra_cfg=extra, before_start=init) as inst:
            yield inst
        return
    with scratch_database("wmsint_e2e") as url:
        urls = {("WorkloadManagement", db): url for db in WMS_DBS}
        with running_instance(tmp, WMS, db_urls=urls, extra_cfg=extra, before_start=init) as inst:
            yield inst


def jobs_client(instance: LocalInstance, user: str = "alice", group: str | None = None) -> JobsClient:
    return JobsClient(instance.cfg_file, token=instance.token(user, group))


def start_pilot(instance: LocalInstance, *extra: str) -> subprocess.Popen[str]:
    cert, key = instance.host_cert("pilot.localhost")
    command = [DIRAC_CORE, "pilot", "--site", SITE, "--cfg", str(instance.cfg_file), "--cert", cert, "--key", key]
    command += ["--heartbeat", str(HEARTBEAT), "--log-level", "warning", *extra]
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env(), cwd=ROOT
    )


def finish(pilot: subprocess.Popen[str], timeout: float = 180) -> str:
    out, err = pilot.communicate(timeout=timeout)
    assert pilot.returncode == 0, f"pilot failed ({pilot.returncode}):\n{out}\n{err}"
    return out


def wait_for(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)


def job_count(instance: LocalInstance) -> int:
    with jobs_client(instance, "admin", "dirac_admin") as admin:
        return sum(int(row["Count"]) for row in admin.summary(["Status"]))


def write_job_files(directory: Path, jdl: str = JOB_JDL) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run.sh").write_text(RUN_SH)
    (directory / "input.txt").write_text("the input sandbox")
    (directory / "job.jdl").write_text(jdl)
    return directory / "job.jdl"


# ------------------------------------------------------------------------------------- acceptance
def test_hundred_jobs_with_sandboxes_run_by_two_pilots(instance: LocalInstance, tmp_path: Path) -> None:
    jdl = write_job_files(tmp_path / "job")
    with jobs_client(instance) as alice:
        ids = alice.submit(jdl, bulk=N_JOBS)
        assert len(set(ids)) == N_JOBS
        assert {s["Status"] for s in alice.status(ids).values()} == {"Waiting"}

        pilots = [start_pilot(instance), start_pilot(instance)]
        reports = [finish(pilot) for pilot in pilots]
        ran = [int(report.split(": ")[1].split()[0]) for report in reports]  # "pilot ... at SITE: N job(s): ..."
        assert sum(ran) == N_JOBS and min(ran) > 0, reports

        final = alice.wait(ids, timeout=60)
        assert {s["Status"] for s in final.values()} == {"Done"}, final
        for job_id in ids:
            files = {path.name: path.read_text() for path in alice.get_output(job_id, tmp_path / "out")}
            assert files == {
                "out.txt": f"job {job_id} at {SITE} read: the input sandbox\n",
                "std.out": f"stdout of {job_id}\n",
            }
        summary = alice.summary(["Status", "Site"])
        assert {"Status": "Done", "Site": SITE, "Count": N_JOBS} in summary
        history = [record["Status"] for record in alice.logging(ids[0])]
        assert history[:3] == ["Received", "Checking", "Waiting"]
        assert history[-4:] == ["Matched", "Running", "Completed", "Done"] or "Done" in history
        assert alice.parameters(ids[0])["ExitCode"] == "0"


def test_kill_reaches_a_running_job_within_one_heartbeat(instance: LocalInstance, tmp_path: Path) -> None:
    stopped = tmp_path / "stopped-at"  # the payload writes the time SIGTERM reached it
    (tmp_path / "sleep.sh").write_text("#!/bin/sh\ntrap 'date +%s.%N > \"$1\"; exit 143' TERM\nsleep 120 &\nwait\n")
    sleeper = tmp_path / "sleeper.jdl"
    sleeper.write_text(
        f'[Executable = "sleep.sh"; Arguments = "{stopped}"; InputSandbox = {{"sleep.sh"}}; CPUTime = 600;]'
    )
    with jobs_client(instance) as alice:
        [job_id] = alice.submit(sleeper)
        pilot = start_pilot(instance, "--max-jobs", "1")
        try:
            wait_for(lambda: alice.status([job_id])[job_id]["MinorStatus"] == "Application", 60, "the job to run")
            time.sleep(0.5)  # well inside the payload
            asked = time.time()
            assert alice.kill([job_id]) == [job_id]
            assert alice.status([job_id])[job_id]["Status"] == "Killed"  # at once in the JobDB
            # The pilot stops the payload at its next heartbeat, then reports why it ended.
            wait_for(lambda: alice.parameters(job_id).get("EndReason") == "killed", 60, "the pilot to stop the job")
            assert "killed" in finish(pilot, timeout=30)
        finally:
            if pilot.poll() is None:
                pilot.kill()
                pilot.wait()
        reached = float(stopped.read_text()) - asked
        # One heartbeat interval, plus the heartbeat call itself on this shared machine.
        assert reached < HEARTBEAT + 1.5, f"the kill reached the payload after {reached:.1f}s ({HEARTBEAT}s heartbeat)"
        assert float(alice.parameters(job_id)["WallClockTime"]) < 60
        assert alice.logging(job_id)[-1]["Status"] == "Killed"


def test_rescheduled_failed_job_runs_again(instance: LocalInstance, tmp_path: Path) -> None:
    marker = tmp_path / "first-run-happened"
    (tmp_path / "flaky.sh").write_text(
        '#!/bin/sh\nif [ -e "$1" ]; then echo "second run of $DIRACJOBID" > out.txt; else touch "$1"; exit 3; fi\n'
    )
    jdl = tmp_path / "flaky.jdl"
    jdl.write_text(
        f'[Executable = "flaky.sh"; Arguments = "{marker}"; InputSandbox = {{"flaky.sh"}}; '
        'OutputSandbox = {"out.txt"}; CPUTime = 600;]'
    )
    with jobs_client(instance) as alice:
        [job_id] = alice.submit(jdl)
        finish(start_pilot(instance, "--max-jobs", "1"))
        first = alice.status([job_id])[job_id]
        assert (first["Status"], first["MinorStatus"]) == ("Failed", "Application Finished With Errors")
        assert alice.parameters(job_id)["ExitCode"] == "3"

        assert alice.reschedule([job_id]) == [job_id]
        assert alice.status([job_id])[job_id]["Status"] == "Waiting"
        finish(start_pilot(instance, "--max-jobs", "1"))
        assert alice.status([job_id])[job_id]["Status"] == "Done"
        assert alice.attributes(job_id)["RescheduleCounter"] == 1
        [output] = alice.get_output(job_id, tmp_path / "out")
        assert output.read_text() == f"second run of {job_id}\n"
        runs = [r for r in alice.logging(job_id) if r["Status"] == "Running" and r["MinorStatus"] == "Application"]
        assert len(runs) == 2


# ------------------------------------------------------------------------------------- refusals
def test_other_users_and_pilot_only_methods_refused_nothing_changed(instance: LocalInstance, tmp_path: Path) -> None:
    with jobs_client(instance) as alice, jobs_client(instance, "bob") as bob:
        [job_id] = alice.submit('[Executable = "x"; CPUTime = 60; JobName = "mine";]')
        before = alice.attributes(job_id)
        refused: list[Callable[[], object]] = [
            lambda: bob.kill([job_id]),
            lambda: bob.reschedule([job_id]),
            lambda: bob.delete([job_id]),
            lambda: bob.status([job_id]),
            lambda: bob.logging(job_id),
            lambda: bob.get_output(job_id),
        ]
        for call in refused:
            with pytest.raises(Forbidden, match="bob may not"):
                call()
        assert bob.summary() == []  # bob sees none of alice's jobs

        # A user token on pilot-only methods: REST and DIRAC RPC.
        token = instance.token("alice")
        with instance.client("WorkloadManagement/Matcher", token=token) as matcher:
            with pytest.raises(Forbidden, match="GenericPilot"):
                matcher.request("POST", "request", json={"CPUTime": 600, "Site": SITE})
            with pytest.raises(Forbidden, match="GenericPilot"):
                matcher.rpc("requestJob", {"CPUTime": 600, "Site": SITE})
        with instance.client("WorkloadManagement/JobStateUpdate", token=token) as state:
            with pytest.raises(Forbidden, match="GenericPilot"):
                state.request("PUT", f"jobs/{job_id}/status", json={"status": "Running"})
            with pytest.raises(Forbidden, match="GenericPilot"):
                state.rpc("setJobStatus", job_id, "Done", "faked", "alice")
            with pytest.raises(Forbidden, match="GenericPilot"):
                state.request("POST", f"jobs/{job_id}/heartbeat", json={"dynamic_data": {"CPUConsumed": 1}})
        assert alice.attributes(job_id) == before
        assert alice.kill([job_id]) == [job_id]  # leave nothing Waiting for the next pilots


def test_bad_tokens_refused_on_wms_nothing_changed(instance: LocalInstance, tmp_path: Path) -> None:
    from dataclasses import replace

    from dirac_core.auth.tokens import TokenIssuer, generate_signing_key

    issuer = instance.issuer()
    claims: dict[str, Any] = {"sub": "sub-alice", "username": "alice", "vo": "dirac_local", "group": "dirac_user"}
    bad = {
        "no credentials": None,
        "expired": issuer.issue(**claims, properties=["NormalUser"], lifetime=-600),
        "signature": TokenIssuer(generate_signing_key(tmp_path / "k"), issuer.settings).issue(
            **claims, properties=["NormalUser"]
        ),
        "audience": TokenIssuer(issuer.key, replace(issuer.settings, audience="Other")).issue(
            **claims, properties=["NormalUser"]
        ),
    }
    before = job_count(instance)
    for reason, token in bad.items():
        with instance.client("WorkloadManagement/JobManager", token=token) as client:
            with pytest.raises(Unauthorized, match=reason):
                client.request("POST", "jobs", json={"jdl": '[Executable = "x";]'})
            with pytest.raises(Unauthorized, match=reason):
                client.rpc("submitJob", '[Executable = "x";]')
    assert job_count(instance) == before


def test_bad_input_is_a_clear_4xx_and_changes_nothing(instance: LocalInstance) -> None:
    before = job_count(instance)
    with jobs_client(instance) as alice:
        with pytest.raises(BadRequest, match="JDL line 3"):
            alice.submit('[\n Executable = "x";\n CPUTime = 60\n JobName = "y";\n]')
        with pytest.raises(PayloadTooLarge, match="MaxSandboxSizeMiB"):
            alice.upload_sandbox(b"\0" * (1024 * 1024 + 10))
        with pytest.raises(NotFound, match="no job 987654"):
            alice.status([987654])
        with pytest.raises(NotFound, match="no job 987654"):
            alice.kill([987654])
    with (
        instance.client("WorkloadManagement/JobManager", user="alice") as jm,
        pytest.raises(BadRequest, match="JDL line 1"),
    ):
        jm.rpc("submitJob", '[Executable = "x" CPUTime = 1;]')
    headers = {"Authorization": f"Bearer {instance.token('alice')}"}
    with instance.http() as http:
        for args in ("not json", '{"jdl": 1}', "[1, 2, 3, 4]"):
            reply = http.post(
                instance.url("WorkloadManagement/JobManager"),
                data={"method": "submitJob", "args": args},
                headers=headers,
            )
            assert reply.status_code == 400, reply.text
            assert reply.json()["OK"] is False and reply.json()["Message"]
    assert job_count(instance) == before

    # An illegal transition reported by a pilot: 409 naming both states, the job unchanged.
    with jobs_client(instance) as alice:
        [job_id] = alice.submit('[Executable = "x"; CPUTime = 60;]')
        with instance.client("WorkloadManagement/JobStateUpdate", token=instance.pilot_token()) as pilot:
            with pytest.raises(Conflict, match="cannot go from Waiting to Done"):
                pilot.request("PUT", f"jobs/{job_id}/status", json={"status": "Done"})
            with pytest.raises(Conflict, match="cannot go from Waiting to Done"):
                pilot.rpc("setJobStatus", job_id, "Done", "x", "pilot")
        assert alice.status([job_id])[job_id]["Status"] == "Waiting"
        alice.kill([job_id])


def test_tornado_client_form_post_get_jobs_status(instance: LocalInstance) -> None:
    """What DIRAC's TornadoClient.executeRPC sends (requests form post): method, JEncoded args, clientVO,
    clientSetup, and the bearer token header; the reply is a JEncoded S_OK."""
    with jobs_client(instance) as alice:
        [job_id] = alice.submit('[Executable = "x"; CPUTime = 60;]')
    form = {
        "method": "getJobsStatus",
        "args": json.dumps([[job_id]]),
        "clientVO": "dirac_local",
        "clientSetup": "DIRAC-Local",
    }
    headers = {
        "User-Agent": "python-requests/2.31.0",
        "Accept-Encoding": "gzip, deflate",
        "Accept": "*/*",
        "Connection": "keep-alive",
        "Authorization": f"Bearer {instance.token('alice')}",
    }
    with instance.http() as http:
        reply = http.post(instance.url("WorkloadManagement/JobMonitoring"), data=form, headers=headers)
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-type"].startswith("application/json")
        assert reply.json() == {
            "OK": True,
            "Value": {
                str(job_id): {
                    "Status": "Waiting",
                    "MinorStatus": "Pilot Agent Submission",
                    "ApplicationStatus": "Unknown",
                }
            },
        }
    # The same call with a user certificate instead of a token (DIRAC's proxy case).
    with instance.http(cert=instance.user_cert("alice")) as http:
        reply = http.post(
            instance.url("WorkloadManagement/JobMonitoring"),
            data=form,
            headers={"User-Agent": "python-requests/2.31.0"},
        )
        assert reply.json()["OK"] is True
        assert reply.json()["Value"][str(job_id)]["Status"] == "Waiting"
    # Another user's job: 403, which DIRAC's client turns into S_ERROR "No access".
    with instance.http(cert=instance.user_cert("bob")) as http:
        denied = http.post(instance.url("WorkloadManagement/JobMonitoring"), data=form)
        assert denied.status_code == 403 and denied.json()["OK"] is False
    with jobs_client(instance) as alice:
        alice.kill([job_id])


def test_dirac_jobs_cli(instance: LocalInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dirac jobs ...` as a user runs it after `dirac login` (token file + client cfg)."""
    from click.testing import CliRunner

    from dirac_core.cli.user import _register, cli
    from dirac_core.client.login import StoredToken, save_token

    token_file = tmp_path / "token"
    save_token(StoredToken(instance.token("alice"), time.time() + 3600, "dirac_user", "alice", ""), token_file)
    monkeypatch.setenv("DIRAC_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("DIRAC_CFG", str(instance.cfg_file))
    monkeypatch.setenv("COLUMNS", "200")
    _register()
    runner = CliRunner()

    def dirac(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    jdl = write_job_files(tmp_path / "job")
    ids_file = tmp_path / "ids"
    assert "submitted 8 job(s)" in dirac("jobs", "submit", str(jdl), "--bulk", "8", "--ids-file", str(ids_file))
    ids = [int(line) for line in ids_file.read_text().split()]
    assert len(ids) == 8
    span = f"{ids[0]}-{ids[-1]}"
    status = dirac("jobs", "status", span)
    assert "8 job(s)" in status and status.count("Waiting") == 8
    assert "Pilot Agent Submission" in dirac("jobs", "logging", str(ids[0]))
    assert "e2e" in dirac("jobs", "status")  # recent jobs, with their names
    assert f"killed 8 job(s): {span}" in dirac("jobs", "kill", span)
    summary = dirac("jobs", "summary", "--by", "Status")
    assert "Killed" in summary and "total" in summary
    refused = runner.invoke(cli, ["jobs", "get-output", str(ids[0])])
    assert refused.exit_code != 0 and "no output sandbox yet" in str(refused.exception or refused.output)
