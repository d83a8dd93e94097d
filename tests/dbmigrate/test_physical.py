"""The physical copy path (InnoDB tablespace export/import) between two private mariadbd servers.

Both servers run on this host, so `physical: auto` moves every InnoDB table as its tablespace file;
MyISAM, Aria and FULLTEXT tables fall back to the logical path. Verification is the same per-chunk
count + checksum as for loaded chunks, checked here against an independent CRC and a tampered row.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dirac_core.dbmigrate.plan import load_plan
from dirac_core.dbmigrate.runner import Runner
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.dbmigrate.sample import independent_checksums, populate
from tests.support.mariadb_server import MariaDBServer

pytestmark = pytest.mark.mariadb

EXTRA_DDL = [
    "CREATE TABLE legacy_myisam (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM",
    "CREATE TABLE legacy_aria (id INT NOT NULL PRIMARY KEY, v VARCHAR(20)) ENGINE=Aria",
    "CREATE TABLE docs (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, body TEXT, FULLTEXT KEY ft_body (body)) "
    "ENGINE=InnoDB",
    # many chunks (chunk_rows 50 in the tests), a secondary key and an AUTO_INCREMENT counter above the max id
    "CREATE TABLE files (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, dir INT NOT NULL, name VARCHAR(40) NOT NULL, "
    "size BIGINT NULL, UNIQUE KEY uk_dir_name (dir, name), KEY k_size (size)) ENGINE=InnoDB AUTO_INCREMENT=90000",
]


@pytest.fixture(scope="module")
def physical_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """A private source (binlog + GTID) holding the sample schema plus non-InnoDB and FULLTEXT tables."""
    server = MariaDBServer(base_dir=tmp_path_factory.mktemp("physical_source"), server_id=11, log_bin=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def source_db(physical_source: MariaDBServer) -> Iterator[str]:
    name = f"phys_src_{secrets.token_hex(3)}"
    conn = physical_source.connect()
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{name}`")
        populate(conn)
        for ddl in EXTRA_DDL:
            cur.execute(ddl)
        cur.executemany("INSERT INTO legacy_myisam VALUES (%s, %s)", [(i, f"m{i}") for i in range(30)])
        cur.executemany("INSERT INTO legacy_aria VALUES (%s, NULL)", [(i,) for i in range(20)])
        cur.executemany("INSERT INTO docs (body) VALUES (%s)", [(f"word{i} text {i % 7}",) for i in range(40)])
        cur.executemany(
            "INSERT INTO files (dir, name, size) VALUES (%s, %s, %s)",
            [(i % 13, f"f{i}.root", None if i % 11 == 0 else i * 1000) for i in range(1, 1200)],
        )
        conn.commit()
        yield name
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def plan_file(tmp_path: Path, source: MariaDBServer, target: MariaDBServer, db: str, new: str, **extra: Any) -> Path:
    return write_plan(
        tmp_path / "plan.yml",
        target_of(source),
        target_of(target),
        [{"name": db, "strategy": "copy", "target_name": new}],
        chunk_rows=50,
        **extra,
    )


def show_create(server: MariaDBServer, db: str) -> dict[str, str]:
    tables = server.execute(
        f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{db}' AND TABLE_TYPE = 'BASE TABLE'"
    )
    # the database's own name (in a sequence default) is neutralised: the target's is another one
    return {t: server.execute(f"SHOW CREATE TABLE `{db}`.`{t}`")[0][1].replace(f"`{db}`.", "") for (t,) in tables}


def assert_same_data(source: MariaDBServer, target: MariaDBServer, db: str, new: str) -> None:
    src, tgt = source.connect(), target.connect()
    try:
        assert independent_checksums(tgt, new) == independent_checksums(src, db)
    finally:
        src.close()
        tgt.close()
    # every key, engine and AUTO_INCREMENT counter arrived exactly (SHOW CREATE, not only the fingerprint)
    assert show_create(target, new) == show_create(source, db)


def test_physical_copy_passes_falls_back_per_table_and_catches_a_tampered_row(
    tmp_path: Path, physical_source: MariaDBServer, second_mariadb: MariaDBServer, source_db: str
) -> None:
    new = f"{source_db}_phys"
    plan = plan_file(tmp_path, physical_source, second_mariadb, source_db, new)
    out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--report", str(tmp_path / "r.json"))
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    db = report["databases"][0]
    assert db["verdict"] == "PASS" and not db["schema_diffs"]
    note = db["notes"][0]
    # 8 InnoDB tables as files; the three others logically, each with its reason
    assert note.startswith("copy path: physical (InnoDB tablespace import) for 8 table(s)"), note
    assert "legacy_myisam (engine MyISAM)" in note and "legacy_aria (engine Aria)" in note, note
    assert "docs (FULLTEXT/SPATIAL index)" in note, note
    tables = {t["name"]: t for t in db["tables"]}
    assert len(tables["files"]["chunks"]) > 10 and tables["files"]["rows"] == 1199
    assert_same_data(physical_source, second_mariadb, source_db, new)
    assert second_mariadb.execute(f"SELECT n FROM `{new}`.counters") == [(600,)]  # trigger did not fire again
    assert second_mariadb.execute(f"SELECT `{new}`.f_double(4)") == [(8,)]
    # the imported secondary key is usable and consistent with the rows
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM `{new}`.files FORCE INDEX (k_size) WHERE size > 0") == [
        (1199 - 1199 // 11,)
    ]
    second_mariadb.execute(f"CHECK TABLE `{new}`.files")
    # the snapshot's GTID is recorded for the cutover's catch-up
    assert report["snapshot"]["gtid"], report["snapshot"]

    # a rerun of the finished migration changes nothing
    again = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--quiet")
    assert again.returncode == 0, again.stdout + again.stderr
    assert_same_data(physical_source, second_mariadb, source_db, new)

    # one altered target row in a physically copied table: FAIL naming the table and the chunk
    second_mariadb.execute(f"UPDATE `{new}`.files SET size = size + 1 WHERE id = 90777")
    out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--verify-only")
    assert out.returncode == 1, out.stdout + out.stderr
    failed = [line for line in out.stdout.splitlines() if line.startswith(f"FAIL {source_db}.")]
    assert len(failed) == 1 and f"{source_db}.files chunk" in failed[0], out.stdout
    lo, hi = (int(x) for x in failed[0].split("id in [")[1].split(")")[0].split(", "))
    assert lo <= 90777 < hi, failed[0]
    second_mariadb.execute(f"DROP DATABASE `{new}`")


PHYSICAL_FAULTS = [
    "during:physical:chunk3",  # copying the exported files out of the source datadir, export lock held
    "during:dump:chunk4",  # source checksums of a physically copied table (snapshot open)
    "during:transfer:chunk3",  # staged tablespace half copied into the target datadir
    "during:load:chunk2",  # IMPORT TABLESPACE done, not recorded
    "after:load:chunk3",  # import recorded, its chunks not verified yet
    "during:verify:chunk5",  # target checksum of an imported chunk computed, verdict not recorded
]


@pytest.mark.parametrize("fault", PHYSICAL_FAULTS)
def test_physical_kill_and_rerun_ends_verified(
    fault: str, tmp_path: Path, physical_source: MariaDBServer, second_mariadb: MariaDBServer, source_db: str
) -> None:
    new = f"{source_db}_{fault.split(':')[1]}"
    plan = plan_file(tmp_path, physical_source, second_mariadb, source_db, new)
    state = tmp_path / "state"
    killed = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", env={"DIRAC_MIGRATE_FAULT": fault})
    assert killed.returncode == -9, f"fault {fault} did not fire: {killed.stdout}{killed.stderr}"
    # the export lock died with the engine: the source takes writes again
    physical_source.execute(f"UPDATE `{source_db}`.counters SET n = n WHERE name = 'child'")

    rerun = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", "--report", str(tmp_path / "r.json"))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "PASS", (tmp_path / "r.txt").read_text()
    assert report["databases"][0]["notes"][0].startswith("copy path: physical"), report["databases"][0]["notes"]
    assert_same_data(physical_source, second_mariadb, source_db, new)
    # no staged tablespace left behind once the database is done
    assert not list((state / "physical").rglob("*.ibd")) if (state / "physical").exists() else True
    second_mariadb.execute(f"DROP DATABASE `{new}`")


def test_logical_when_physical_is_off_or_impossible(
    tmp_path: Path,
    physical_source: MariaDBServer,
    second_mariadb: MariaDBServer,
    source_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # physical: off in the plan
    new = f"{source_db}_off"
    plan = load_plan(plan_file(tmp_path, physical_source, second_mariadb, source_db, new, physical="off"))
    runner = Runner(plan, tmp_path / "state-off")
    try:
        report = runner.run()
    finally:
        runner.close()
    assert report.passed, report.text()
    assert (
        report.data["databases"][0]["notes"][0]
        == "copy path: logical (LOAD DATA) for every table: physical: off in the plan"
    )
    assert_same_data(physical_source, second_mariadb, source_db, new)
    second_mariadb.execute(f"DROP DATABASE `{new}`")

    # the servers report another host name than the engine's: their datadirs are not reachable from here
    monkeypatch.setattr(socket, "gethostname", lambda: "engine-elsewhere")
    new = f"{source_db}_far"
    plan = load_plan(plan_file(tmp_path, physical_source, second_mariadb, source_db, new))
    runner = Runner(plan, tmp_path / "state-far")
    try:
        report = runner.run()
    finally:
        runner.close()
    assert report.passed, report.text()
    note = report.data["databases"][0]["notes"][0]
    assert (
        note.startswith("copy path: logical (LOAD DATA) for every table: source (") and "not both on this host" in note
    )
    assert_same_data(physical_source, second_mariadb, source_db, new)
    second_mariadb.execute(f"DROP DATABASE `{new}`")


FK_DDL = [
    # DIRAC's FileCatalogWithFkAndPsDB shape: tables that reference each other, one referenced by several
    "CREATE TABLE dirs (id INT NOT NULL PRIMARY KEY, parent INT NULL, first_file INT NULL, pad CHAR(200), "
    "KEY k_parent (parent), KEY k_first (first_file), "
    "CONSTRAINT fk_dirs_parent FOREIGN KEY (parent) REFERENCES dirs (id)) ENGINE=InnoDB",
    "CREATE TABLE files (id INT NOT NULL PRIMARY KEY, dir INT NOT NULL, pad CHAR(200), KEY k_dir (dir), "
    "CONSTRAINT fk_files_dir FOREIGN KEY (dir) REFERENCES dirs (id)) ENGINE=InnoDB",
    "ALTER TABLE dirs ADD CONSTRAINT fk_dirs_first FOREIGN KEY (first_file) REFERENCES files (id)",
    "CREATE TABLE replicas (id INT NOT NULL PRIMARY KEY, file INT NOT NULL, pad CHAR(200), KEY k_file (file), "
    "CONSTRAINT fk_replicas_file FOREIGN KEY (file) REFERENCES files (id)) ENGINE=InnoDB",
    "CREATE TABLE info (file INT NOT NULL PRIMARY KEY, pad CHAR(200), "
    "CONSTRAINT fk_info_file FOREIGN KEY (file) REFERENCES files (id)) ENGINE=InnoDB",
]


def test_physical_copy_of_tables_linked_by_foreign_keys_passes_the_first_time(
    tmp_path: Path, physical_source: MariaDBServer, second_mariadb: MariaDBServer
) -> None:
    """Dropping a referenced table takes an InnoDB lock on the tables that reference it, which another
    worker's IMPORT TABLESPACE holds: on a loaded machine the DROP ran into 1205. Imports of tables
    linked by foreign keys must not overlap. The target's lock wait is cut to 1 s so that an overlap
    fails here as it did on a loaded machine after 50 s."""
    db = f"phys_fk_{secrets.token_hex(3)}"
    rows = 20_000
    conn = physical_source.connect()
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"USE `{db}`")
        for ddl in FK_DDL:
            cur.execute(ddl)
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        pad = "p" * 200
        for start in range(0, rows, 5000):
            ids = range(start + 1, start + 5001)
            cur.executemany("INSERT INTO dirs VALUES (%s, %s, %s, %s)", [(i, (i // 2) or None, i, pad) for i in ids])
            cur.executemany("INSERT INTO files VALUES (%s, %s, %s)", [(i, i, pad) for i in ids])
            cur.executemany("INSERT INTO replicas VALUES (%s, %s, %s)", [(i, i, pad) for i in ids])
            cur.executemany("INSERT INTO info VALUES (%s, %s)", [(i, pad) for i in ids])
        conn.commit()
    finally:
        conn.close()
    new = f"{db}_copy"
    before = second_mariadb.execute("SELECT @@GLOBAL.innodb_lock_wait_timeout")[0][0]
    second_mariadb.execute("SET GLOBAL innodb_lock_wait_timeout = 1")
    try:
        plan = write_plan(
            tmp_path / "plan.yml",
            target_of(physical_source),
            target_of(second_mariadb),
            [{"name": db, "strategy": "copy", "target_name": new}],
            chunk_rows=2000,
            workers=4,
        )
        report_file = tmp_path / "r.json"
        out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--report", str(report_file))
    finally:
        second_mariadb.execute(f"SET GLOBAL innodb_lock_wait_timeout = {int(before)}")
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads(report_file.read_text())["databases"][0]
    assert report["verdict"] == "PASS", report
    assert report["notes"][0].startswith("copy path: physical (InnoDB tablespace import) for 4 table(s)")
    assert_same_data(physical_source, second_mariadb, db, new)
    physical_source.execute(f"DROP DATABASE `{db}`")
