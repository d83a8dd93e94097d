"""Copy between two real MariaDB servers: every schema feature, verified, and an independent CRC agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dirac_core.dbmigrate.plan import load_plan
from dirac_core.dbmigrate.runner import Runner
from tests.dbmigrate.conftest import SourceServer
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.dbmigrate.sample import independent_checksums
from tests.support.mariadb_server import MariaDBServer

pytestmark = pytest.mark.mariadb


def source_checksums(source: SourceServer, db: str) -> dict[str, tuple[int, int]]:
    conn = source.connect()
    try:
        return independent_checksums(conn, db)
    finally:
        conn.close()


def target_checksums(server: MariaDBServer, db: str) -> dict[str, tuple[int, int]]:
    conn = server.connect()
    try:
        return independent_checksums(conn, db)
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("checksum", "physical"),
    [("md5", "off"), ("crc32", "off"), ("crc32", "auto")],  # auto: both servers on this host, tablespace import
)
def test_copy_all_pass_and_independent_check_agrees(
    checksum: str,
    physical: str,
    tmp_path: Path,
    source_db: str,
    source_mariadb: SourceServer,
    second_mariadb: MariaDBServer,
) -> None:
    target = f"{source_db}_copy_{checksum}_{physical}"
    plan = load_plan(
        write_plan(
            tmp_path / "plan.yml",
            source_mariadb.endpoint(),
            target_of(second_mariadb),
            [{"name": source_db, "strategy": "copy", "target_name": target}],
            chunk_rows=70,
            checksum=checksum,
            physical=physical,
        )
    )
    runner = Runner(plan, tmp_path / "state")
    try:
        report = runner.run()
    finally:
        runner.close()
    assert report.passed, report.text()
    path = "physical" if physical == "auto" else "logical"
    assert report.data["databases"][0]["notes"][0].startswith(f"copy path: {path}"), report.text()
    tables = {t["name"]: t for t in report.data["databases"][0]["tables"]}
    assert len(tables["parent"]["chunks"]) > 3 and len(tables["strkey"]["chunks"]) > 2
    assert len(tables["nopk"]["chunks"]) == 1
    assert target_checksums(second_mariadb, target) == source_checksums(source_mariadb, source_db)

    # schema objects and AUTO_INCREMENT arrived
    rows = second_mariadb.execute(
        "SELECT AUTO_INCREMENT FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{target}' AND TABLE_NAME = 'parent'",
    )
    assert rows == [(5000,)]
    assert second_mariadb.execute(f"SELECT `{target}`.f_double(21)") == [(42,)]
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM `{target}`.v_parent_big")[0][0] > 0
    second_mariadb.execute(f"CALL `{target}`.p_count(@n)")
    kinds = second_mariadb.execute(
        f"SELECT 'trigger', COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{target}' UNION ALL "
        f"SELECT 'event', COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{target}'"
    )
    assert kinds == [("trigger", 1), ("event", 1)]
    # the sequence continues above every value the source handed out
    second_mariadb.execute(f"INSERT INTO `{target}`.tickets (note) VALUES ('new')")
    assert second_mariadb.execute(f"SELECT MAX(id) FROM `{target}`.tickets")[0][0] > 1040
    second_mariadb.execute(f"DELETE FROM `{target}`.tickets WHERE note = 'new'")
    # the trigger did not fire during the load: counters holds what the source's trigger counted
    assert second_mariadb.execute(f"SELECT n FROM `{target}`.counters") == [(600,)]

    # A rerun of a finished migration changes nothing.
    before = target_checksums(second_mariadb, target)
    done = run_cli("migrate", str(tmp_path / "plan.yml"), "--state-dir", str(tmp_path / "state"), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout
    assert target_checksums(second_mariadb, target) == before

    # --verify-only also compares the schema objects again
    second_mariadb.execute(f"CREATE INDEX extra_idx ON `{target}`.nopk (a)")
    out = run_cli("migrate", str(tmp_path / "plan.yml"), "--state-dir", str(tmp_path / "state"), "--verify-only")
    assert out.returncode == 1 and "schema: indexes nopk.extra_idx.1: only on target" in out.stdout, out.stdout
    second_mariadb.execute(f"DROP INDEX extra_idx ON `{target}`.nopk")

    # One altered target row: verification FAILs naming the table and the chunk's key range.
    second_mariadb.execute(f"UPDATE `{target}`.parent SET note = 'tampered' WHERE id = 301")
    out = run_cli(
        "migrate",
        str(tmp_path / "plan.yml"),
        "--state-dir",
        str(tmp_path / "state"),
        "--verify-only",
        "--report",
        str(tmp_path / "report.json"),
    )
    assert out.returncode == 1, out.stdout + out.stderr
    failed = [line for line in out.stdout.splitlines() if line.startswith(f"FAIL {source_db}.")]
    assert len(failed) == 1, out.stdout
    assert f"{source_db}.parent chunk" in failed[0] and "id in [" in failed[0]
    data = json.loads((tmp_path / "report.json").read_text())
    bad = [
        (t["name"], c["range"]) for t in data["databases"][0]["tables"] for c in t["chunks"] if c["verdict"] == "FAIL"
    ]
    assert len(bad) == 1 and bad[0][0] == "parent"
    lo, hi = (int(x) for x in bad[0][1].split("[")[1].rstrip(")").split(", "))
    assert lo <= 301 < hi
    assert "FAIL" in (tmp_path / "report.txt").read_text()
    second_mariadb.execute(f"DROP DATABASE `{target}`")
