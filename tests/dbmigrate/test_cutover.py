"""Cutover with two private mariadbd servers: replication catch-up under load, freeze, switch.

The source has binlog + GTID; the target is a plain server. A writer keeps inserting into the
source (as an unprivileged service account) during the copy and the catch-up; after the cutover the
target must hold every committed row, the freeze window is reported, and a reset database (not in
the replicated list) never reaches the target.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from dirac_core.dbmigrate import cutover
from dirac_core.dbmigrate.replication import CONNECTION, Endpoint, gtid_reached, parse_gtid_pos, wild_do_tables
from dirac_core.errors import BadRequest
from tests.support.mariadb_server import MariaDBServer

from .cutover_support import Writer, connect, snapshot_copy
from .helpers import run_cli, target_of, write_plan

pytestmark = pytest.mark.mariadb

SCHEMA = (
    "CREATE TABLE FC_Files (FileID INT AUTO_INCREMENT PRIMARY KEY, LFN VARCHAR(255) NOT NULL, "
    "Size BIGINT, Checksum VARCHAR(16) NULL, UNIQUE KEY (LFN)) ENGINE=InnoDB",
    "CREATE TABLE FC_Meta (Name VARCHAR(64), Value TEXT) ENGINE=InnoDB",  # no primary key
)


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[MariaDBServer, MariaDBServer]]:
    """Source with binlog + GTID (server-id 11), plain target (server-id 12), shared by this module."""
    with private_server(11, True) as source, private_server(12, False) as target:
        yield source, target


@contextlib.contextmanager
def private_server(server_id: int, log_bin: bool) -> Iterator[MariaDBServer]:
    """A private mariadbd with its own tmpdir (other jobs' cleanups of /tmp deleted temp tables under us)."""
    base = Path(tempfile.mkdtemp(prefix="cutover-mariadbd-", dir="/tmp"))
    (base / "tmp").mkdir()
    with MariaDBServer(base, server_id=server_id, log_bin=log_bin, extra_options=[f"tmpdir={base / 'tmp'}"]) as server:
        yield server


def secret_file(server: MariaDBServer, name: str, password: str = "") -> Path:
    """A 0600 password file next to the server's datadir, as the plan wants it."""
    assert server.base_dir is not None
    path = server.base_dir / name
    path.touch(mode=0o600)
    path.write_text(password)
    return path


def endpoint(server: MariaDBServer) -> Endpoint:
    return Endpoint("127.0.0.1", server.port, "root", secret_file(server, "root.secret"))


def query(server: MariaDBServer, sql: str) -> list[tuple[object, ...]]:
    return server.execute(sql)


def populate(server: MariaDBServer, db: str, rows: int = 3000) -> Endpoint:
    """The DB to copy, a reset DB, and an unprivileged service account writing to both."""
    server.execute(
        "SET GLOBAL read_only = OFF",
        f"CREATE DATABASE `{db}`",
        f"CREATE DATABASE `{db}_jobs`",
    )
    with contextlib.closing(connect(endpoint(server), db)) as conn, conn.cursor() as cur:
        for ddl in SCHEMA:
            cur.execute(ddl)
        cur.executemany(
            "INSERT INTO FC_Files (LFN, Size, Checksum) VALUES (%s, %s, %s)",
            [(f"/vo/base/{i}", i, None if i % 5 == 0 else f"{i:08x}") for i in range(rows)],
        )
        cur.executemany("INSERT INTO FC_Meta VALUES (%s, %s)", [("k", "v"), ("k", "v"), ("n", None)])
        cur.execute(f"CREATE TABLE `{db}_jobs`.Jobs (JobID INT PRIMARY KEY)")
        password = secrets.token_hex(8)
        cur.execute("CREATE USER IF NOT EXISTS 'app'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute("ALTER USER 'app'@'%%' IDENTIFIED BY %s", (password,))
        cur.execute(f"GRANT ALL ON `{db}`.* TO 'app'@'%'")
        cur.execute(f"GRANT ALL ON `{db}_jobs`.* TO 'app'@'%'")
    return Endpoint("127.0.0.1", server.port, "app", secret_file(server, f"app-{db}.secret", password))


def rows_of(server: MariaDBServer, db: str) -> set[tuple[object, ...]]:
    return set(query(server, f"SELECT FileID, LFN, Size, Checksum FROM `{db}`.FC_Files"))


def assert_switched(source: MariaDBServer, target: MariaDBServer, db: str, writer: Writer, new: str = "") -> None:
    new = new or db
    on_target = rows_of(target, new)
    assert on_target == rows_of(source, db)
    assert writer.committed <= {row[0] for row in on_target}
    assert sorted(query(target, f"SELECT * FROM `{new}`.FC_Meta")) == sorted(
        query(source, f"SELECT * FROM `{db}`.FC_Meta")
    )
    assert query(target, f"SHOW DATABASES LIKE '{db}\\_jobs'") == []  # reset DB: never replicated
    assert query(target, "SELECT @@read_only") == [(0,)]
    assert query(source, "SELECT @@read_only") == [(1,)]
    assert [r for r in query(target, "SHOW ALL SLAVES STATUS") if r[0] == CONNECTION] == []
    assert query(source, "SELECT User FROM mysql.user WHERE User = 'dirac_migrate_repl'") == []


def test_gtid_helpers() -> None:
    assert parse_gtid_pos("0-1-42,1-5-7") == {0: 42, 1: 7}
    assert gtid_reached("0-1-42,1-5-7", "0-1-40")
    assert not gtid_reached("0-1-39", "0-1-40")
    assert not gtid_reached("", "1-1-1")
    assert gtid_reached("", "")
    assert wild_do_tables(["FileCatalogDB", "my_db"]) == "FileCatalogDB.%,my\\_db.%"


def test_cutover_under_load(servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path) -> None:
    source, target = servers
    db = f"cutover_{secrets.token_hex(3)}"
    app = populate(source, db)
    writer = Writer(app, db).start()
    time.sleep(0.5)
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        print(line)

    def copy() -> str:
        gtid = snapshot_copy(endpoint(source), endpoint(target), [db], {db: new})
        # The reset DB gets writes after the snapshot too: filtered out, yet the replica's GTID moves on.
        source.execute(f"INSERT INTO `{db}_jobs`.Jobs VALUES (1), (2)")
        time.sleep(1.0)  # writes after the snapshot: replication must bring them
        return gtid

    new = f"{db}_new"  # the plan renames it on the target: replicate_rewrite_db
    marker = tmp_path / "services-stopped"
    spec = cutover.CutoverSpec(
        endpoint(source),
        endpoint(target),
        [db],
        tmp_path / "work",
        target_names={db: new},
        stop_commands=[f"touch {marker}"],  # the playbook's "stop services" hook
    )
    try:
        result = cutover.run(spec, copy, say=say)
    finally:
        writer.stop()
    assert writer.errors == []
    assert writer.refused > 0, "the writer never hit the freeze: the test did not exercise a write during freeze"
    assert len(writer.committed) > 50
    assert_switched(source, target, db, writer, new)
    assert result.mode == "replicate"
    assert marker.exists()
    assert result.verify_failures == []
    assert 0 < result.freeze_seconds < 10
    assert any(line.startswith("cutover mode: replicate; freeze window: ") for line in lines)
    assert any("replication: lag 0 s" in line for line in lines)
    state = json.loads((tmp_path / "work" / "cutover.json").read_text())
    assert state["phase"] == "done" and state["freeze_seconds"] == result.freeze_seconds
    secret = (tmp_path / "work" / "replication.secret").read_text()
    assert secret not in (tmp_path / "work" / "cutover.json").read_text()
    assert all(secret not in line for line in lines)
    # Re-running a finished cutover changes nothing.
    again = cutover.run(spec, copy, say=say)
    assert again.freeze_seconds == result.freeze_seconds
    assert lines[-1] == "cutover already done: nothing to do"


@pytest.mark.parametrize("point", ["replicating", "prefreeze_verified", "frozen", "drained", "switched"])
def test_cutover_killed_and_rerun(servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path, point: str) -> None:
    source, target = servers
    db = f"cutover_{secrets.token_hex(3)}"
    app = populate(source, db, rows=1000)
    writer = Writer(app, db).start()
    src, tgt = endpoint(source), endpoint(target)
    args = json.dumps(
        {
            "source": {"host": src.host, "port": src.port, "user": "root", "password_file": str(src.password_file)},
            "target": {"host": tgt.host, "port": tgt.port, "user": "root", "password_file": str(tgt.password_file)},
            "databases": [db],
            "workdir": str(tmp_path / "work"),
        }
    )
    command = [sys.executable, "-m", "tests.dbmigrate.cutover_support", args]
    env = {**os.environ, "DIRAC_MIGRATE_FAULT": f"cutover:{point}"}
    try:
        killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -9, killed.stderr
        state = json.loads((tmp_path / "work" / "cutover.json").read_text())
        assert state["phase"] == point
        time.sleep(0.3)
        rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 0, rerun.stderr + rerun.stdout
    finally:
        writer.stop()
    assert f"resuming cutover at phase '{point}'" in rerun.stdout
    assert "freeze window" in rerun.stdout
    assert writer.errors == []
    assert_switched(source, target, db, writer)


def test_frozen_fallback_without_binlog(tmp_path: Path) -> None:
    with private_server(13, False) as source, private_server(14, False) as target:
        db = "cutover_frozen"
        app = populate(source, db, rows=500)
        writer = Writer(app, db).start()
        time.sleep(0.3)
        lines: list[str] = []
        spec = cutover.CutoverSpec(endpoint(source), endpoint(target), [db], tmp_path / "work")
        try:
            result = cutover.run(
                spec, lambda: snapshot_copy(endpoint(source), endpoint(target), [db]), say=lines.append
            )
        finally:
            writer.stop()
        assert result.mode == "frozen"
        assert any("has no binlog" in line and "frozen copy" in line for line in lines)
        assert lines[-1].startswith("cutover mode: frozen; freeze window: ")
        assert result.freeze_seconds > 0
        assert rows_of(target, db) == rows_of(source, db)
        assert writer.committed <= {row[0] for row in rows_of(target, db)}
        assert query(target, "SELECT @@read_only") == [(0,)]


BINLOG_SAMPLE = """\
#261125  8:59:21 server id 5  end_log_pos 654 CRC32 0xb61826ab 	GTID 0-5-3 trans
START TRANSACTION
/*!*/;
# at 708
#Q> insert into x.t values(300,"c")
### INSERT INTO `x`.`t`
### SET
###   @1=300
###   @2='c'
### UPDATE `x`.`t`
### WHERE
###   @1=1
###   @2='a'
### SET
###   @1=1
###   @2='z'
### DELETE FROM `x`.`u`
### WHERE
###   @1=-4 (4294967292)
### INSERT INTO `x`.`n`
### SET
###   @1='v'
### INSERT INTO `other`.`t`
### SET
###   @1=999999
COMMIT/*!*/;
# at 865
#261125  8:59:21 server id 5  end_log_pos 946 CRC32 0xc9330866 	Query	thread_id=8	exec_time=0	error_code=0
SET TIMESTAMP=1795597161/*!*/;
create database y
/*!*/;
"""


def test_binlog_touched_chunks() -> None:
    from dirac_core.dbmigrate.binlog_delta import KeyColumn, chunk_bounds, chunk_of, parse_touched

    keys = [KeyColumn("x", "t", 1), KeyColumn("x", "u", 1, unsigned=True), KeyColumn("x", "n", None)]
    touched = parse_touched(BINLOG_SAMPLE.splitlines(), keys, 100)
    assert touched == {("x", "t"): {"3", "0"}, ("x", "u"): {"42949672"}, ("x", "n"): {"all"}}
    # DDL on a copied DB cannot be mapped to rows: the caller checks every chunk.
    ddl = (
        BINLOG_SAMPLE
        + "# at 990\n#261125  8:59:22 server id 5  end_log_pos 1000 	Query	thread_id=8\nuse `x`/*!*/;\n"
    )
    assert parse_touched([*ddl.splitlines(), "alter table t add column c int"], keys, 100) is None
    assert chunk_of(-4, 100) == 0 and chunk_of(-150, 100) == -1 and chunk_of(250, 100) == 2
    assert (
        chunk_bounds(2, 100) == (200, 299)
        and chunk_bounds(0, 100) == (-99, 99)
        and chunk_bounds(-1, 100) == (-199, -100)
    )


def test_spec_from_plan_options(tmp_path: Path) -> None:
    end = Endpoint("db1", 3306, "root", None)
    spec = cutover.spec_from_plan(
        end, end, ["FileCatalogDB"], tmp_path, options={"stop_commands": "systemctl stop x", "verify": "all"}
    )
    assert spec.stop_commands == ["systemctl stop x"] and spec.verify_scope == "all"
    for options, message in [
        ({"stop_command": ["x"]}, "cutover.stop_command: unknown key"),
        ({"stop_commands": [1]}, "cutover.stop_commands: expected a list of commands"),
        ({"freeze_grace": -1}, "cutover.freeze_grace: expected a positive number"),
        ({"verify": "some"}, "cutover.verify 'some' is not known"),
    ]:
        with pytest.raises(BadRequest, match=message.replace(".", r"\.")):
            cutover.spec_from_plan(end, end, ["FileCatalogDB"], tmp_path, options=options)
    with pytest.raises(BadRequest, match=r"cutover\.mode 'fast' is not known"):
        cutover.spec_from_plan(end, end, ["FileCatalogDB"], tmp_path, mode="fast")


@pytest.mark.parametrize("fault", ["", "cutover:frozen"])
def test_cutover_cli_with_engine_under_load(
    servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path, fault: str
) -> None:
    """`dirac-core db cutover PLAN`: the engine's copy, then catch-up, freeze and switch (killed once, re-run)."""
    source, target = servers
    db = f"cutover_{secrets.token_hex(3)}"
    app = populate(source, db, rows=5000)
    writer = Writer(app, db).start()
    plan = write_plan(
        tmp_path / "plan.yml",
        target_of(source),
        target_of(target),
        [{"name": db, "strategy": "copy"}],
        cutover={"mode": "replicate", "stop_commands": [f"touch {tmp_path / 'stopped'}"]},
    )
    state = tmp_path / "state"
    try:
        time.sleep(0.5)
        if fault:
            killed = run_cli(
                "cutover", str(plan), "--quiet", "--state-dir", str(state), env={"DIRAC_MIGRATE_FAULT": fault}
            )
            assert killed.returncode == -9, killed.stdout + killed.stderr
        done = run_cli("cutover", str(plan), "--quiet", "--state-dir", str(state), timeout=300)
    finally:
        writer.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cutover mode: replicate; freeze window: " in done.stdout
    assert ("resuming cutover at phase 'frozen'" in done.stdout) == bool(fault)
    assert writer.errors == []
    on_target = rows_of(target, db)
    assert on_target == rows_of(source, db)
    assert writer.committed <= {row[0] for row in on_target}
    assert query(target, f"SHOW DATABASES LIKE '{db}\\_jobs'") == []  # not in the plan: not replicated
    assert query(target, "SELECT @@read_only") == [(0,)]
    assert [r for r in query(target, "SHOW ALL SLAVES STATUS") if r[0] == CONNECTION] == []


def test_freeze_kills_open_write_transactions(servers: tuple[MariaDBServer, MariaDBServer]) -> None:
    """An uncommitted write still open after the grace period is killed (rolled back): never half-copied."""
    from dirac_core.dbmigrate.freeze import default_freezer

    source, _target = servers
    db = f"cutover_{secrets.token_hex(3)}"
    app = populate(source, db, rows=10)
    open_trx = connect(app, db)
    open_trx.autocommit(False)
    with open_trx.cursor() as cur:
        cur.execute("INSERT INTO FC_Files (LFN, Size) VALUES ('/vo/uncommitted', 1)")
    lines: list[str] = []
    freezer = default_freezer(endpoint(source), [db], grace=0.5)
    try:
        freezer.freeze(lines.append)
        assert any("killing open write transaction of app" in line for line in lines)
        assert query(source, f"SELECT COUNT(*) FROM `{db}`.FC_Files WHERE LFN = '/vo/uncommitted'") == [(0,)]
        with pytest.raises(pymysql.err.MySQLError), open_trx.cursor() as cur:
            cur.execute("COMMIT")  # its connection was killed
    finally:
        freezer.thaw(lines.append)
        with contextlib.suppress(Exception):
            open_trx.close()
    assert query(source, "SELECT @@read_only") == [(0,)]


def test_cutover_cli_frozen_fallback_with_engine(tmp_path: Path) -> None:
    """No binlog on the source: `db cutover` freezes, copies with the engine, switches: mode frozen."""
    with private_server(15, False) as source, private_server(16, False) as target:
        db = "cutover_frozen_cli"
        app = populate(source, db, rows=2000)
        writer = Writer(app, db).start()
        plan = write_plan(
            tmp_path / "plan.yml", target_of(source), target_of(target), [{"name": db, "strategy": "copy"}]
        )
        try:
            time.sleep(0.5)
            done = run_cli("cutover", str(plan), "--quiet", "--state-dir", str(tmp_path / "state"), timeout=300)
        finally:
            writer.stop()
        assert done.returncode == 0, done.stdout + done.stderr
        assert "has no binlog (log_bin OFF): falling back to a frozen copy" in done.stdout
        assert "cutover mode: frozen; freeze window: " in done.stdout
        assert rows_of(target, db) == rows_of(source, db)
        assert writer.committed <= {row[0] for row in rows_of(target, db)}
        assert writer.refused > 0
