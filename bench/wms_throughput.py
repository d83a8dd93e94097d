"""WMS throughput through HTTPS on MariaDB: bulk submission (jobs/s) and matching (matches/s).

Baseline measured in the same run on the same server: the raw DB insert rate of the same jobs
(DBAPI ``executemany`` of the two rows every job needs, JobJDLs + Jobs, committed per bulk).
Submission goes through the real stack: HTTPS + bearer token -> JobManager (JDL parsing, checks,
JobDB + JobLoggingDB + TaskQueueDB writes, Received -> Checking -> Waiting); matching asks the real
Matcher as pilots (claim from the TaskQueueDB, Waiting -> Matched, PilotAgentsDB).

    .venv/bin/python bench/wms_throughput.py [--jobs 20000] [--bulk 1000] [--clients 2]
        [--matches 2000] [--pilots 2] [--host 127.0.0.1] [--port 3306] [--db-prefix bench_wms_]

Targets (issue 2, 2-core machine): >= 1,000 jobs/s bulk submission and >= 25% of the raw insert rate.
The databases it creates are dropped at the end.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from dirac_core.db.engine import make_engine, mysql_driver
from dirac_core.db.jobdb import metadata as jobdb_metadata
from tests.support.instance import LocalInstance, running_instance

WMS_DBS = ("JobDB", "JobLoggingDB", "TaskQueueDB", "SandboxMetadataDB", "PilotAgentsDB")
JDL = """[
    Executable = "analysis.sh";
    Arguments = "--events 1000";
    JobName = "bench";
    JobGroup = "bench";
    InputData = {};
    OutputSandbox = {"std.out", "std.err"};
    CPUTime = 3600;
    Site = "ANY";
]"""


def server_url(args: argparse.Namespace, database: str | None = None) -> URL:
    return URL.create(
        f"mysql+{mysql_driver()}",
        username="root",
        password="",
        host=args.host,
        port=args.port,
        database=database,
        query={"charset": "utf8mb4"},
    )


def parallel(workers: int, work: Callable[[int], int]) -> tuple[int, float]:
    """Run work(i) in `workers` threads; returns (sum of results, seconds)."""
    results = [0] * workers
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(results), elapsed


def raw_insert_rate(args: argparse.Namespace, database: str) -> float:
    """Jobs/s for the bare minimum: one JobJDLs and one Jobs row per job, multi-row executemany per bulk."""
    engine = make_engine(server_url(args, database))
    jobdb_metadata.create_all(engine)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        start = time.perf_counter()
        first = 1  # one writer on an empty table: InnoDB hands out consecutive ids
        for _ in range(args.jobs // args.bulk):
            cursor.executemany(
                "INSERT INTO JobJDLs (JDL, JobRequirements, OriginalJDL) VALUES (%s, %s, %s)",
                [(JDL, "[CPUTime = 3600;]", JDL)] * args.bulk,
            )
            cursor.executemany(
                "INSERT INTO Jobs (JobID, JobName, JobGroup, Owner, OwnerGroup, VO, Status, MinorStatus, Site,"
                " SubmissionTime, LastUpdateTime) VALUES (%s, 'bench', 'bench', 'alice', 'dirac_user',"
                " 'dirac_local', 'Waiting', 'Pilot Agent Submission', 'ANY', UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                [(first + i,) for i in range(args.bulk)],
            )
            connection.commit()
            first += args.bulk
        return (args.jobs // args.bulk) * args.bulk / (time.perf_counter() - start)
    finally:
        connection.close()
        engine.dispose()


def submission_rate(inst: LocalInstance, args: argparse.Namespace) -> float:
    requests_total = args.jobs // args.bulk
    token = inst.token("alice")

    def submitter(index: int) -> int:
        submitted = 0
        with inst.client("WorkloadManagement/JobManager", token=token) as client:
            for _ in range(index, requests_total, args.clients):
                reply = client.request("POST", "jobs", json={"jdl": JDL, "copies": args.bulk})
                submitted += len(reply["job_ids"])
        return submitted

    submitted, elapsed = parallel(args.clients, submitter)
    assert submitted == requests_total * args.bulk, submitted
    return submitted / elapsed


def match_rate(inst: LocalInstance, args: argparse.Namespace) -> float:
    token = inst.pilot_token()
    per_pilot = args.matches // args.pilots

    def pilot(index: int) -> int:
        matched = 0
        resource = {"CPUTime": 86400, "Site": "DIRAC.Bench.ch", "PilotReference": f"bench-pilot-{index}"}
        with inst.client("WorkloadManagement/Matcher", token=token) as client:
            for _ in range(per_pilot):
                matched += bool(client.request("POST", "request", json=resource)["matched"])
        return matched

    matched, elapsed = parallel(args.pilots, pilot)
    assert matched == per_pilot * args.pilots, f"only {matched} matches"
    return matched / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--bulk", type=int, default=1000, help="copies per submission request (max 1000)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent submitting clients")
    parser.add_argument("--matches", type=int, default=2000)
    parser.add_argument("--pilots", type=int, default=2, help="concurrent pilots asking the Matcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3306)
    parser.add_argument("--db-prefix", default="bench_wms_")
    args = parser.parse_args()

    suffix = secrets.token_hex(4)
    raw_db, wms_db = f"{args.db_prefix}raw_{suffix}", f"{args.db_prefix}{suffix}"
    admin = create_engine(server_url(args))
    with admin.begin() as conn:
        for name in (raw_db, wms_db):
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        raw = raw_insert_rate(args, raw_db)
        urls = {("WorkloadManagement", name): server_url(args, wms_db) for name in WMS_DBS}
        components = ["WorkloadManagement/JobManager", "WorkloadManagement/Matcher"]
        with (
            tempfile.TemporaryDirectory() as tmp,
            running_instance(Path(tmp), components, db_urls=urls, before_start=[["dirac-core", "db", "init"]]) as inst,
        ):
            submit = submission_rate(inst, args)
            match = match_rate(inst, args)
    finally:
        with admin.begin() as conn:
            for name in (raw_db, wms_db):
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()

    jobs = (args.jobs // args.bulk) * args.bulk
    print(f"MariaDB {args.host}:{args.port} ({mysql_driver()}), {jobs} jobs in bulks of {args.bulk}")
    print(f"{'raw DB insert (JobJDLs + Jobs, executemany)':<52} {raw:>9.0f} jobs/s   baseline")
    print(
        f"{f'bulk submission over HTTPS ({args.clients} clients)':<52} {submit:>9.0f} jobs/s   "
        f"{100 * submit / raw:5.1f}% of raw   target >= 1000 jobs/s and >= 25%: "
        f"{'met' if submit >= 1000 and submit >= 0.25 * raw else 'NOT met'}"
    )
    print(f"{f'Matcher over HTTPS ({args.pilots} pilots)':<52} {match:>9.0f} matches/s")


if __name__ == "__main__":
    main()
