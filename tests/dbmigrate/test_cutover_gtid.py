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
from dirac_core.dbmigrate.replication import CONNECTION, replica_start_pos
from dirac_core.errors import Conflict
from tests.support.mariadb_server import MariaDBServer

from .cutover_support import Writer, snapshot_copy
from .test_cutover import assert_switched, endpoint, populate, query

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
