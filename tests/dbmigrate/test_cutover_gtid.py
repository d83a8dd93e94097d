"""Replicate cutover into a target that has its own binlog + GTID history (as dirac_mariadb sets up).

Every DB server runs log_bin, gtid_strict_mode, log_slave_updates and its own gtid_domain_id. The
target's ``gtid_slave_pos`` must then also name the target's own domains (else ERROR 1948), and a
target sharing the source's domain is refused before anything is copied.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_core.dbmigrate import cutover
from dirac_core.dbmigrate.replication import CONNECTION, Endpoint, replica_start_pos
from dirac_core.errors import Conflict
from tests.support.mariadb_server import MariaDBServer

from .cutover_support import Writer, snapshot_copy
from .helpers import run_cli, target_of, write_plan
from .test_cutover import assert_switched, endpoint, populate, private_server, query, rows_of, secret_file

pytestmark = pytest.mark.mariadb

SOURCE_DOMAIN, TARGET_DOMAIN = 1, 2


@contextlib.contextmanager
def gtid_server(server_id: int, domain: int) -> Iterator[MariaDBServer]:
    """A private mariadbd as dirac_mariadb configures one: binlog, strict GTID, log_slave_updates, own domain."""
    base = Path(tempfile.mkdtemp(prefix="cutover-gtid-", dir="/tmp"))
    (base / "tmp").mkdir()
    with MariaDBServer(
        base,
        server_id=server_id,
        log_bin=True,
        gtid_strict_mode=True,
        gtid_domain_id=domain,
        extra_options=[f"tmpdir={base / 'tmp'}", "log-slave-updates=1"],
    ) as server:
        yield server


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[MariaDBServer, MariaDBServer]]:
    with gtid_server(21, SOURCE_DOMAIN) as source, gtid_server(22, TARGET_DOMAIN) as target:
        yield source, target


def test_replica_start_pos() -> None:
    # The target's own domains join the snapshot's; shared domains take the snapshot's position.
    assert replica_start_pos("1-21-100", "") == "1-21-100"
    assert replica_start_pos("1-21-100", "2-22-7") == "1-21-100,2-22-7"
    assert replica_start_pos("1-21-100,3-5-9", "1-21-40,2-22-7") == "1-21-100,2-22-7,3-5-9"
    assert replica_start_pos("1-21-100", "1-21-100") == "1-21-100"
    with pytest.raises(Conflict, match=r"binlog holds GTID 1-22-101, ahead of the source snapshot's 1-21-100"):
        replica_start_pos("1-21-100", "1-22-101")


def write_target_history(target: MariaDBServer, history: str) -> None:
    """Transactions in the target's own binlog before the cutover."""
    stmts = ["CREATE DATABASE IF NOT EXISTS gtidfix_local", "CREATE TABLE IF NOT EXISTS gtidfix_local.t (i INT)"]
    if history == "source_domain":
        # GTIDs in the source's domain, behind the snapshot (the target once replicated early history).
        first = f"SET SESSION gtid_domain_id = {SOURCE_DOMAIN}, SESSION server_id = 21, SESSION gtid_seq_no = 1"
        stmts = [first, *stmts]
    target.execute(*stmts, "INSERT INTO gtidfix_local.t VALUES (1), (2)")


# source_domain first: its GTID 1-21-1 must precede what later runs replicate into domain 1.
@pytest.mark.parametrize("history", ["source_domain", "own_domain"])
def test_cutover_into_target_with_own_gtid_history(
    servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path, history: str
) -> None:
    source, target = servers
    target.execute("SET GLOBAL read_only = OFF")
    write_target_history(target, history)
    binlog_before = query(target, "SELECT @@gtid_binlog_pos")[0][0]
    assert binlog_before  # the target really has a GTID history
    db = f"gtidfix_{secrets.token_hex(3)}"
    app = populate(source, db, rows=800)
    writer = Writer(app, db).start()
    time.sleep(0.3)
    lines: list[str] = []

    def copy() -> str:
        gtid = snapshot_copy(endpoint(source), endpoint(target), [db])  # logged in the target's domain 2
        time.sleep(0.5)  # writes after the snapshot: replication must bring them
        return gtid

    spec = cutover.CutoverSpec(endpoint(source), endpoint(target), [db], tmp_path / "work")
    try:
        result = cutover.run(spec, copy, say=lines.append)
    finally:
        writer.stop()
    assert writer.errors == []
    assert len(writer.committed) > 20
    assert_switched(source, target, db, writer)
    assert result.mode == "replicate" and result.verify_failures == []
    assert any(line.startswith("cutover mode: replicate; freeze window: ") for line in lines)
    assert 0 < result.freeze_seconds < 10
    # Strict mode still on; the target's binlog now holds its own domain and the replicated one.
    assert query(target, "SELECT @@gtid_strict_mode") == [(1,)]
    domains = {int(g.split("-")[0]) for g in str(query(target, "SELECT @@gtid_binlog_pos")[0][0]).split(",")}
    assert {SOURCE_DOMAIN, TARGET_DOMAIN} <= domains


def test_preflight_refuses_shared_gtid_domain(servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path) -> None:
    source, target = servers
    copied: list[bool] = []

    def copy() -> str:
        copied.append(True)
        return ""

    spec = cutover.CutoverSpec(endpoint(source), endpoint(target), ["gtidfix_none"], tmp_path / "work")
    target.execute(f"SET GLOBAL gtid_domain_id = {SOURCE_DOMAIN}")
    try:
        with pytest.raises(Conflict, match=r"both use gtid_domain_id 1 .*give each DB server its own gtid_domain_id"):
            cutover.run(spec, copy, say=lambda _line: None)
    finally:
        target.execute(f"SET GLOBAL gtid_domain_id = {TARGET_DOMAIN}")
    assert copied == []  # refused before the copy: nothing changed
    assert [r for r in query(target, "SHOW ALL SLAVES STATUS") if r[0] == CONNECTION] == []


def cli_cutover(source: MariaDBServer, target: MariaDBServer, db: str, work: Path, *extra: str) -> str:
    plan = write_plan(
        work / "plan.yml",
        target_of(source),
        target_of(target),
        [{"name": db, "strategy": "copy"}],
        cutover={"mode": "replicate"},
    )
    done = run_cli("cutover", str(plan), "--quiet", "--state-dir", str(work / "state"), *extra, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cutover mode: replicate; freeze window: " in done.stdout
    return done.stdout


def test_engine_cutover_and_rollback_between_gtid_servers(
    servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path
) -> None:
    """Old site → new site with the engine, then the rollback new site → old site, both strict GTID.

    The new site's binlog carries the old site's domain (log_slave_updates): the rollback copy must
    not add old-site GTIDs beyond that position, so the engine loads the target without binlog.
    """
    old, new = servers
    db = f"gtidfix_{secrets.token_hex(3)}"
    app = populate(old, db, rows=2000)
    writer = Writer(app, db).start()
    try:
        time.sleep(0.3)
        (tmp_path / "forward").mkdir()
        cli_cutover(old, new, db, tmp_path / "forward")
    finally:
        writer.stop()
    assert writer.errors == []
    assert rows_of(new, db) == rows_of(old, db)
    assert writer.committed <= {row[0] for row in rows_of(new, db)}
    assert SOURCE_DOMAIN in {int(g.split("-")[0]) for g in str(query(new, "SELECT @@gtid_binlog_pos")[0][0]).split(",")}

    # Services now write on the new site; then roll back to the old one (which still holds the old data).
    # (the first writer's LFNs are renamed: the second writer starts its /vo/w/<n> names again at 1)
    new.execute(f"UPDATE `{db}`.FC_Files SET LFN = CONCAT('/vo/fwd/', FileID) WHERE LFN LIKE '/vo/w/%'")
    back = Writer(populate_app(new, db), db).start()
    try:
        time.sleep(0.5)
        (tmp_path / "back").mkdir()
        cli_cutover(new, old, db, tmp_path / "back", "--confirm")
    finally:
        back.stop()
    assert back.errors == []
    assert len(back.committed) > 20
    assert rows_of(old, db) == rows_of(new, db)
    assert back.committed <= {row[0] for row in rows_of(old, db)}
    assert query(old, "SELECT @@read_only") == [(0,)]
    assert query(old, "SELECT @@gtid_strict_mode") == [(1,)]
    assert [r for r in query(old, "SHOW ALL SLAVES STATUS") if r[0] == CONNECTION] == []


def populate_app(server: MariaDBServer, db: str) -> Endpoint:
    """The service account on the new site (accounts are not part of the copy)."""
    password = secrets.token_hex(8)
    server.execute(
        "SET GLOBAL read_only = OFF",
        f"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY '{password}'",
        f"ALTER USER 'app'@'%' IDENTIFIED BY '{password}'",
        f"GRANT ALL ON `{db}`.* TO 'app'@'%'",
    )
    return Endpoint("127.0.0.1", server.port, "app", secret_file(server, f"app-{db}.secret", password))


def test_frozen_fallback_into_gtid_target(servers: tuple[MariaDBServer, MariaDBServer], tmp_path: Path) -> None:
    """A source without binlog: the frozen copy into a strict-GTID target (no replication, no domain check)."""
    _source, target = servers
    with private_server(23, False) as source:
        db = f"gtidfix_{secrets.token_hex(3)}"
        app = populate(source, db, rows=1000)
        writer = Writer(app, db).start()
        plan = write_plan(
            tmp_path / "plan.yml",
            target_of(source),
            target_of(target),
            [{"name": db, "strategy": "copy"}],
            cutover={"mode": "replicate"},
        )
        try:
            time.sleep(0.3)
            done = run_cli("cutover", str(plan), "--quiet", "--state-dir", str(tmp_path / "state"), timeout=300)
        finally:
            writer.stop()
        assert done.returncode == 0, done.stdout + done.stderr
        assert "has no binlog (log_bin OFF): falling back to a frozen copy" in done.stdout
        assert "cutover mode: frozen; freeze window: " in done.stdout
        assert rows_of(target, db) == rows_of(source, db)
        assert writer.committed <= {row[0] for row in rows_of(target, db)}
        assert query(target, "SELECT @@read_only") == [(0,)]
