"""kill -9 of the JobManager during concurrent bulk submissions (issue 16 item 1), on MariaDB over HTTPS.

4 clients submit copies=5 under one Idempotency-Key each, retrying with it while the service is gone;
the JobManager is killed with SIGKILL mid-load and started again. Afterwards every job is fully
scheduled (Jobs row Waiting, 3 history rows, a task queue entry), exactly the acknowledged JobIDs
exist (no duplicate of a retried submission, no half job), and a repeat of any key returns its JobIDs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dirac_core.client.jobs import JobsClient
from tests.support.instance import running_instance
from tests.support.mariadb import scratch_database

from .conftest import WMS_DBS

JOB_MANAGER = "WorkloadManagement/JobManager"
JDL = '[Executable = "run.sh"; JobName = "kill9"; CPUTime = 600;]'
CLIENTS, ROUNDS, COPIES = 4, 12, 5


def _rows(engine_url: object, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(engine_url)  # type: ignore[call-overload]
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


@pytest.mark.mariadb
@pytest.mark.timeout(180)
def test_kill_9_during_bulk_submissions_leaves_only_whole_acknowledged_jobs(tmp_path: Path) -> None:
    extra = {"Systems": {"WorkloadManagement": {"Local": {"Services": {"JobManager": {"SubmissionLease": 2}}}}}}
    with scratch_database("wms_kill9") as url:
        urls = {("WorkloadManagement", db): url for db in WMS_DBS}
        init = [["dirac-core", "db", "init"]]
        with running_instance(tmp_path, [JOB_MANAGER], db_urls=urls, extra_cfg=extra, before_start=init) as inst:
            acknowledged: dict[str, list[int]] = {}
            failures: list[BaseException] = []
            lock = threading.Lock()
            token = inst.token("alice")

            def client_loop(number: int) -> None:
                try:
                    with JobsClient(inst.cfg_file, token=token, submit_retry=60) as client:
                        for round_ in range(ROUNDS):
                            key = f"client{number}-round{round_}"
                            ids = client.submit_once(JDL, COPIES, key=key)
                            with lock:
                                acknowledged[key] = ids
                except BaseException as exc:  # reported by the main thread
                    failures.append(exc)

            threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(CLIENTS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + 60
            while len(acknowledged) < CLIENTS * 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            inst.processes[JOB_MANAGER].popen.kill()  # SIGKILL: mid-submission for the clients still writing
            inst.processes[JOB_MANAGER].popen.wait(10)
            killed_after = len(acknowledged)
            inst.start(JOB_MANAGER, JOB_MANAGER)
            for thread in threads:
                thread.join(120)
            assert not failures, failures
            assert killed_after < CLIENTS * ROUNDS, "the kill came after the load: nothing was tested"
            assert len(acknowledged) == CLIENTS * ROUNDS

            # Recovery removes or completes what the killed process left, once its lease (2 s) ran out.
            deadline = time.monotonic() + 30
            while _rows(url, "SELECT COUNT(*) FROM JobSubmissions WHERE State <> 'Done'")[0][0]:
                assert time.monotonic() < deadline, "unfinished submissions were not recovered"
                time.sleep(0.5)

            with JobsClient(inst.cfg_file, token=token, submit_retry=10) as client:
                for key in list(acknowledged)[:: CLIENTS + 1]:
                    assert client.submit_once(JDL, COPIES, key=key) == acknowledged[key], key
            recovered = inst.processes[JOB_MANAGER].log.read_text(errors="replace").count("unfinished submission")

        expected = sorted(job_id for ids in acknowledged.values() for job_id in ids)
        assert len(expected) == len(set(expected)) == CLIENTS * ROUNDS * COPIES  # no JobID in two replies
        visible = _rows(url, "SELECT JobID, Status FROM Jobs ORDER BY JobID")
        assert [int(str(job_id)) for job_id, _ in visible] == expected  # nothing unacknowledged, no duplicate
        assert {status for _, status in visible} == {"Waiting"}
        reserved = _rows(url, "SELECT JobID FROM JobJDLs ORDER BY JobID")
        assert [int(str(r[0])) for r in reserved] == expected  # no half job left behind
        history = _rows(url, "SELECT JobID, COUNT(*) FROM LoggingInfo GROUP BY JobID ORDER BY JobID")
        assert history == [(job_id, 3) for job_id in expected]
        queued = _rows(url, "SELECT JobId FROM tq_Jobs ORDER BY JobId")
        assert [int(str(r[0])) for r in queued] == expected
        keys = _rows(url, "SELECT COUNT(*) FROM JobSubmissions WHERE State = 'Done'")
        assert keys == [(CLIENTS * ROUNDS,)]
    print(f"killed after {killed_after} acknowledged submissions; {recovered} recovered by the sweep")
