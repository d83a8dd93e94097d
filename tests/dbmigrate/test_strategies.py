"""reset (ids kept above the old maximum), setup rename of AccountingDB tables, copy + upgrade, snapshot position."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirac_core.db import schema
from dirac_core.db.engine import make_engine
from dirac_core.db.installed import get_database
from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.plan import load_plan
from dirac_core.dbmigrate.runner import Runner
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.support.mariadb_server import MariaDBServer

pytestmark = pytest.mark.mariadb


def _run(plan_path: Path, state: Path, confirm: bool = False) -> Runner:
    runner = Runner(load_plan(plan_path), state, confirm=confirm)
    try:
        report = runner.run()
    finally:
        runner.close()
    assert report.passed, report.text()
    return runner


def test_reset_keeps_new_job_ids_above_the_old_maximum(tmp_path: Path, second_mariadb: MariaDBServer) -> None:
    old, new = "migrate_oldjobdb", "migrate_newjobdb"
    second_mariadb.execute(
        f"DROP DATABASE IF EXISTS {old}",
        f"DROP DATABASE IF EXISTS {new}",
        f"CREATE DATABASE {old}",
        f"CREATE TABLE {old}.JobJDLs (JobID INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, JDL TEXT)",
        f"CREATE TABLE {old}.Jobs (JobID INT UNSIGNED PRIMARY KEY, Status VARCHAR(32))",
        f"INSERT INTO {old}.JobJDLs (JobID, JDL) VALUES (100, 'a'), (12000, 'b')",
        f"INSERT INTO {old}.Jobs VALUES (100, 'Done'), (12344, 'Running')",  # Jobs beyond the JDL table's max
    )
    server = target_of(second_mariadb)
    plan = write_plan(
        tmp_path / "plan.yml",
        server,
        server,
        [
            {
                "name": "JobDB",
                "strategy": "reset",
                "target_name": new,
                "source_name": old,
                "keep_ids_above_source": True,
            }
        ],
    )
    killed = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--quiet",
                     env={"DIRAC_MIGRATE_FAULT": "before:reset:chunk1"})  # fmt: skip
    assert killed.returncode == -9
    _run(plan, tmp_path / "state")
    tables = {r[0] for r in second_mariadb.execute(f"SHOW TABLES FROM {new}")}
    assert {"Jobs", "JobJDLs", "JobParameters"} <= tables
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM {new}.Jobs") == [(0,)]
    second_mariadb.execute(f"INSERT INTO {new}.JobJDLs (JDL, JobRequirements, OriginalJDL) VALUES ('x', '', '')")
    assert second_mariadb.execute(f"SELECT JobID FROM {new}.JobJDLs") == [(12345,)]

    # rerun of a finished reset: nothing changes (the new job stays)
    _run(plan, tmp_path / "state")
    assert second_mariadb.execute(f"SELECT JobID FROM {new}.JobJDLs") == [(12345,)]
    # a new state dir sees a target holding data: refused without --confirm
    out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "other"))
    assert out.returncode == 2 and "pass --confirm to reset it" in out.stderr
    second_mariadb.execute(f"DROP DATABASE {old}", f"DROP DATABASE {new}")


def test_setup_rename_of_accounting_tables(tmp_path: Path, second_mariadb: MariaDBServer) -> None:
    # The private server is source and target here: the shared one may hold a real "AccountingDB".
    new = "migrate_acc_new"
    second_mariadb.execute(
        "DROP DATABASE IF EXISTS AccountingDB",
        f"DROP DATABASE IF EXISTS {new}",
        "CREATE DATABASE AccountingDB",
        "CREATE TABLE AccountingDB.ac_catalog_types (name VARCHAR(64) PRIMARY KEY, keyFields TEXT)",
        "INSERT INTO AccountingDB.ac_catalog_types VALUES ('EGI_Job', 'Site'), ('EGI_DataOperation', 'User'), "
        "('Other_Job', 'Site')",
        "CREATE TABLE AccountingDB.ac_type_EGI_Job (id INT PRIMARY KEY, Site INT, CPUTime BIGINT)",
        "CREATE TABLE AccountingDB.ac_bucket_EGI_Job (id INT PRIMARY KEY, Site INT, CPUTime BIGINT)",
        "CREATE TABLE AccountingDB.ac_key_EGI_Job_Site (id INT PRIMARY KEY, value VARCHAR(64))",
        "CREATE TABLE AccountingDB.ac_type_Other_Job (id INT PRIMARY KEY)",
        "INSERT INTO AccountingDB.ac_type_EGI_Job VALUES (1, 1, 100), (2, 1, 200)",
        "INSERT INTO AccountingDB.ac_key_EGI_Job_Site VALUES (1, 'LCG.CERN.cern')",
    )
    server = target_of(second_mariadb)
    plan = write_plan(
        tmp_path / "plan.yml",
        server,
        server,
        [{"name": "AccountingDB", "strategy": "copy", "target_name": new}],
        setup_rename={"from": "EGI", "to": "EGI-Production"},
    )
    _run(plan, tmp_path / "state")
    tables = sorted(r[0] for r in second_mariadb.execute(f"SHOW TABLES FROM {new}"))
    assert tables == [
        "ac_bucket_EGI-Production_Job",
        "ac_catalog_types",
        "ac_key_EGI-Production_Job_Site",
        "ac_type_EGI-Production_Job",
        "ac_type_Other_Job",
    ]
    assert second_mariadb.execute(f"SELECT SUM(CPUTime) FROM {new}.`ac_type_EGI-Production_Job`") == [(300,)]
    names = sorted(r[0] for r in second_mariadb.execute(f"SELECT name FROM {new}.ac_catalog_types"))
    assert names == ["EGI-Production_DataOperation", "EGI-Production_Job", "Other_Job"]
    # the source has binlog on: the snapshot position is recorded for the cutover step
    snap = Manifest(tmp_path / "state").snapshot()
    assert snap is not None and snap["log_bin"] and snap["file"].startswith("binlog.") and snap["gtid"]
    # verify-only after the rename still passes (the renamed rows are the new expectation)
    out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--verify-only")
    assert out.returncode == 0, out.stdout + out.stderr
    second_mariadb.execute("DROP DATABASE AccountingDB", f"DROP DATABASE {new}")


def test_copy_with_upgrade(tmp_path: Path, second_mariadb: MariaDBServer) -> None:
    second_mariadb.execute("DROP DATABASE IF EXISTS JobDB", "DROP DATABASE IF EXISTS migrate_jobdb_up",
                           "CREATE DATABASE JobDB")  # fmt: skip
    engine = make_engine(second_mariadb.url("JobDB"), pool_size=1)
    try:
        schema.init(get_database("JobDB"), engine, to="jobdb_1_0")  # an older release of the schema
    finally:
        engine.dispose()
    server = target_of(second_mariadb)
    plan = write_plan(
        tmp_path / "plan.yml",
        server,
        server,
        [{"name": "JobDB", "strategy": "copy", "target_name": "migrate_jobdb_up", "upgrade": True}],
    )
    runner = _run(plan, tmp_path / "state")
    entry = Manifest(runner.state_dir).db("JobDB")
    assert entry is not None and any(n.startswith("schema upgrade: upgraded") for n in entry["info"]["notes"])
    engine = make_engine(second_mariadb.url("migrate_jobdb_up"), pool_size=1)
    try:
        state = schema.status(get_database("JobDB"), engine)
    finally:
        engine.dispose()
    assert state.current == state.head and not state.pending
    second_mariadb.execute("DROP DATABASE JobDB", "DROP DATABASE migrate_jobdb_up")
