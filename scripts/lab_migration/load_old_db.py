"""Load the old DB server (cyf-db01) with EGI data through dirac_core's own schemas and catalog logic.

    python scripts/lab_migration/load_old_db.py HOST FILES JOBS ACCOUNTING_ROWS

Jobs (Done) in egi_JobDB, a catalog in egi_FileCatalogDB (one file in ten under /eiscat.se, one
replica each), AccountingDB's tables plus a bucket table of ACCOUNTING_ROWS rows, and an
unprivileged `stage_writer` account for scripts/lab_migration/writer.py. Connects as the migration
account the playbooks create (dirac_migrator, lab password).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from sqlalchemy import Engine, create_engine, text

from dirac_core.auth.caller import Caller
from dirac_core.catalog.catalog import FileCatalog
from dirac_core.db import jobdb
from dirac_core.db.accountingdb import AccountingDB

# The lab's value (inventories/lab/group_vars/all/migration.yml), not a secret.
PASSWORD = "lab-migrator-not-secret"  # noqa: S105


def _engine(host: str, db: str = "") -> Engine:
    return create_engine(f"mysql+pymysql://dirac_migrator:{PASSWORD}@{host}:3306/{db}")


def main(host: str, n_files: int, n_jobs: int, n_rows: int) -> None:
    with _engine(host).begin() as conn:
        for db in ("egi_JobDB", "egi_FileCatalogDB", "egi_AccountingDB"):
            conn.execute(text(f"CREATE DATABASE IF NOT EXISTS {db} CHARACTER SET utf8mb4"))
        conn.execute(text("CREATE USER IF NOT EXISTS 'stage_writer'@'%' IDENTIFIED BY 'w'"))
        conn.execute(text("GRANT INSERT, SELECT ON egi_AccountingDB.* TO 'stage_writer'@'%'"))
    started = time.monotonic()
    jobs = _engine(host, "egi_JobDB")
    jobdb.metadata.create_all(jobs)
    ids = [{"i": i} for i in range(1, n_jobs + 1)]
    with jobs.begin() as conn:
        conn.execute(
            text("INSERT INTO JobJDLs (JobID, JDL, JobRequirements, OriginalJDL) VALUES (:i, '[]', '[]', '[]')"), ids
        )
        conn.execute(text("INSERT INTO Jobs (JobID, Status) VALUES (:i, 'Done')"), ids)
    print(f"jobs: {n_jobs} in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    catalog = FileCatalog(_engine(host, "egi_FileCatalogDB"))
    catalog.db.create_tables()
    admin = Caller(
        sub="/CN=admin", username="admin", vo="egi", group="dirac_admin",
        properties=frozenset({"FileCatalogManagement", "ServiceAdministrator", "Operator", "TrustedHost"}),
    )  # fmt: skip
    batch: dict[str, dict[str, Any]] = {}
    for i in range(n_files):
        top = "/eiscat.se/run" if i % 10 == 0 else "/egi/data"
        lfn = f"{top}/d{i // 500:03d}/f{i:06d}.dat"
        batch[lfn] = {"Size": 1000 + i, "SE": "CYF-DISK", "PFN": f"srm://cyf{lfn}", "Checksum": f"{i:08x}", "GUID": ""}
        if len(batch) == 1000 or i == n_files - 1:
            catalog.files.add(admin, batch)
            batch = {}
    print(f"files: {n_files} in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    accounting = _engine(host, "egi_AccountingDB")
    AccountingDB(accounting).create_tables()
    rows = [{"t": 1700000000 + 60 * i, "e": i % 17, "c": None if i % 5 == 0 else i * 0.5} for i in range(n_rows)]
    with accounting.begin() as conn:
        conn.execute(text(
            "CREATE TABLE IF NOT EXISTS ac_bucket_demo (id INT PRIMARY KEY AUTO_INCREMENT, setup VARCHAR(32), "
            "start_time BIGINT, entries DOUBLE, cpu DOUBLE NULL)"
        ))  # fmt: skip
        conn.execute(
            text("INSERT INTO ac_bucket_demo (setup, start_time, entries, cpu) VALUES ('EGI-Production', :t, :e, :c)"),
            rows,
        )
    print(f"accounting rows: {n_rows} in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
