"""Accounting record rates: bulk commit over HTTPS vs raw AccountingDB inserts, and bucketing.

Baseline measured in the same run: `AccountingDB.insert_records` on the same backend (no HTTP, no
validation). Run: .venv/bin/python bench/accounting_commit.py [records] [--mariadb]
(MariaDB: a scratch database accounting_bench_<hex> on 127.0.0.1:3306, dropped afterwards).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.engine import URL

from dirac_core.accounting.bucketing import Bucketer
from dirac_core.accounting.records import validate_records
from dirac_core.accounting_types import BUILTIN_TYPES, JOB
from dirac_core.client.accounting import DATA_STORE, AccountingClient
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.db.engine import make_engine
from tests.support.instance import running_instance
from tests.support.mariadb import scratch_database

BATCH = 1000
SITES = [f"LCG.Site{i}.org" for i in range(20)]
USERS = [f"user{i}" for i in range(50)]


def records(count: int, now: int) -> list[dict[str, Any]]:
    return [
        {
            "User": USERS[i % 50],
            "UserGroup": "dirac_user",
            "JobGroup": f"g{i % 7}",
            "JobType": "User",
            "JobClass": "Single",
            "ProcessingType": "unknown",
            "Site": SITES[i % 20],
            "FinalMajorStatus": "Done",
            "FinalMinorStatus": "Execution Complete",
            "CPUTime": 100 + i % 900,
            "ExecTime": 200,
            "startTime": now - 86400 + (i * 37) % 80000,
            "endTime": now - 86400 + (i * 37) % 80000 + 1800,
        }
        for i in range(count)
    ]


@contextmanager
def database(use_mariadb: bool, tmp: Path, label: str) -> Iterator[str | URL]:
    if not use_mariadb:
        yield f"sqlite:///{tmp / (label + '.sqlite')}"
        return
    with scratch_database("accounting_bench") as url:
        yield url


def report(label: str, count: int, seconds: float) -> float:
    rate = count / seconds
    print(f"{label:<52} {count:>7} records  {rate:>9.0f} records/s")
    return rate


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 20000
    use_mariadb = "--mariadb" in sys.argv
    now = int(time.time())
    data = records(count, now)
    print(f"backend: {'MariaDB 127.0.0.1:3306' if use_mariadb else 'SQLite'}; batches of {BATCH}")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        with database(use_mariadb, tmp, "raw") as url:
            db = AccountingDB(make_engine(url))
            db.create_tables()
            tables = db.register_type("Bench", JOB)
            checked = validate_records(JOB, data, max_records=count)
            start = time.perf_counter()
            for i in range(0, count, BATCH):
                db.insert_records(tables, checked[i : i + BATCH])
            raw = report("baseline: AccountingDB.insert_records (raw DB)", count, time.perf_counter() - start)
            start = time.perf_counter()
            bucketed = Bucketer(db).run_once()
            report("bucketing (one pass, 1800 s records over 1 h buckets)", bucketed, time.perf_counter() - start)
            db.engine.dispose()
        with database(use_mariadb, tmp, "https") as url:
            db = AccountingDB(make_engine(url))
            db.create_tables()
            for atype in BUILTIN_TYPES.values():
                db.register_type("DIRAC-Local", atype)
            db.engine.dispose()
            cfg = {"Systems": {"Accounting": {"Local": {"Services": {"DataStore": {"RunBucketing": "no"}}}}}}
            urls = {("Accounting", "AccountingDB"): url} if use_mariadb else None
            with (
                running_instance(
                    tmp,
                    [DATA_STORE],
                    db_urls=urls,
                    extra_cfg=cfg,
                    before_start=[] if use_mariadb else [["dirac-core", "db", "init", "AccountingDB"]],
                ) as inst,
                AccountingClient(inst.client(DATA_STORE, user="alice")) as client,
            ):
                start = time.perf_counter()
                for i in range(0, count, BATCH):
                    client.commit("Job", data[i : i + BATCH])
                https = report("DataStore REST POST /records over HTTPS", count, time.perf_counter() - start)
    print(f"HTTPS / raw DB ratio: {https / raw:.2f}")


if __name__ == "__main__":
    main()
