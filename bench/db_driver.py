"""mysqlclient (``mysql+mysqldb``) vs PyMySQL (``mysql+pymysql``) on the MariaDB at 127.0.0.1:3306.

Measures the WMS hot paths through the real JobDB code: bulk job insertion (JobJDLs + Jobs +
InputData, executemany), bulk parameter upserts, point reads (one job's attributes) and a large
paged read. Each driver gets its own fresh database, dropped afterwards. PyMySQL is the baseline;
ratios > 1 mean mysqlclient is faster.

    .venv/bin/python bench/db_driver.py [--jobs 20000] [--reads 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, text

from dirac_core.db.engine import make_engine
from dirac_core.db.jobdb import JobDB, NewJob
from tests.support.mariadb import mariadb_root_url

DRIVERS = ("pymysql", "mysqldb")  # baseline first


def new_jobs(count: int) -> list[NewJob]:
    return [
        NewJob(
            original_jdl=f'[Executable = "job{i}.sh"; Arguments = "{i}";]',
            requirements="[CPUTime = 3600;]",
            attributes={
                "Owner": f"user{i % 50}",
                "OwnerGroup": "egi_user",
                "VO": "egi",
                "Status": "Waiting",
                "MinorStatus": "Pilot Agent Submission",
                "Site": f"EGI.S{i % 20}.fr",
                "JobName": f"j{i}",
            },
            render_jdl=lambda job_id: f'[JobID = {job_id}; Executable = "x";]',
            input_data=[f"/egi/data/{i}.dat"],
        )
        for i in range(count)
    ]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(driver: str, jobs: int, reads: int) -> dict[str, float]:
    name = f"bench_{driver}_{secrets.token_hex(4)}"
    admin = create_engine(mariadb_root_url(driver=driver))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    engine = make_engine(mariadb_root_url(name, driver=driver))
    try:
        db = JobDB(engine)
        db.create_tables()
        batch = 1000
        batches = [new_jobs(batch) for _ in range(jobs // batch)]
        insert_s = timed(lambda: [db.insert_jobs(b) for b in batches])
        ids = list(range(1, jobs + 1))
        params = [(job_id, name, f"value-{job_id}") for job_id in ids for name in ("HostName", "CPUScalingFactor")]
        upsert_s = timed(lambda: [db.set_parameters(params[i : i + 2000]) for i in range(0, len(params), 2000)])
        probe = [ids[(i * 7919) % len(ids)] for i in range(reads)]
        point_s = timed(lambda: [db.get_attributes([job_id], ["Status", "Owner"]) for job_id in probe])
        scan_s = timed(lambda: db.search({"VO": "egi"}, ["JobID", "Status", "Site", "Owner"], limit=jobs))
        # The driver alone: one DBAPI connection, no pool, no SQL compilation.
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()

            def raw_reads() -> None:
                for job_id in probe:
                    cursor.execute("SELECT Status, Owner FROM Jobs WHERE JobID = %s", (job_id,))
                    cursor.fetchall()

            raw_s = timed(raw_reads)
            cursor.close()
        finally:
            raw.close()
        return {
            "insert jobs/s": jobs / insert_s,
            "upsert params/s": len(params) / upsert_s,
            "point reads/s": reads / point_s,
            "scan rows/s": jobs / scan_s,
            "raw reads/s": reads / raw_s,
        }
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--reads", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {d: {} for d in DRIVERS}
    for round_number in range(args.repeat):
        for driver in DRIVERS if round_number % 2 == 0 else tuple(reversed(DRIVERS)):  # alternate order
            for metric, value in run(driver, args.jobs, args.reads).items():
                results[driver].setdefault(metric, []).append(value)
            print(f"round {round_number + 1}/{args.repeat} {driver} done", flush=True)
    print(f"\n{args.jobs} jobs, {args.reads} point reads, median of {args.repeat} rounds")
    print(f"{'metric':<18}{'pymysql':>14}{'mysqlclient':>14}{'ratio':>8}")
    for metric in results["pymysql"]:
        base = statistics.median(results["pymysql"][metric])
        fast = statistics.median(results["mysqldb"][metric])
        print(f"{metric:<18}{base:>14,.0f}{fast:>14,.0f}{fast / base:>8.2f}")


if __name__ == "__main__":
    main()
