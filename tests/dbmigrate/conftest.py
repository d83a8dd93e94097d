"""Fixtures of the migration tests: the shared MariaDB at 127.0.0.1:3306 and a private second one."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dbmigrate.sample import populate
from tests.support.mariadb_server import MariaDBServer


@pytest.fixture(scope="session")
def second_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    """A private mariadbd (binlog ROW, GTID strict, server-id 2) for the whole session, stopped at the end.

    Its datadir is under /tmp (short socket path); DIRAC_TEST_KEEP_MARIADB=1 keeps it for post-mortems.
    """
    base = tmp_path_factory.mktemp("second_mariadb")
    server = MariaDBServer(
        base_dir=base, server_id=2, log_bin=True, keep=bool(os.environ.get("DIRAC_TEST_KEEP_MARIADB"))
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _shared_server_up() -> bool:
    import MySQLdb

    try:
        MySQLdb.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=3).close()
        return True
    except MySQLdb.OperationalError:
        return False


@pytest.fixture(scope="session")
def source_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SourceServer]:
    """The migration source: the shared MariaDB at 127.0.0.1:3306 (binlog OFF).

    When it is down (it is shared and restarted by others), a private one stands in, with a warning,
    so the engine is still tested between two real servers.
    """
    if _shared_server_up():
        yield SourceServer("127.0.0.1", 3306, None)
        return
    import warnings

    warnings.warn("MariaDB at 127.0.0.1:3306 is down: the migration tests use a private source server", stacklevel=1)
    server = MariaDBServer(base_dir=tmp_path_factory.mktemp("source_mariadb"), server_id=1, log_bin=False)
    server.start()
    try:
        yield SourceServer(server.host, server.port, server)
    finally:
        server.stop()


class SourceServer:
    def __init__(self, host: str, port: int, server: MariaDBServer | None) -> None:
        self.host, self.port, self.server = host, port, server

    def connect(self) -> Any:
        import MySQLdb

        return MySQLdb.connect(host=self.host, port=self.port, user="root", charset="utf8mb4", local_infile=1)

    def endpoint(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "user": "root"}


@pytest.fixture(scope="session")
def source_db(source_mariadb: SourceServer) -> Iterator[str]:
    """The sample schema (tests/dbmigrate/sample.py) in a fresh database on the source, dropped at the end."""
    name = f"migrate_src_{secrets.token_hex(4)}"
    conn = source_mariadb.connect()
    cur = conn.cursor()
    cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    cur.execute(f"USE `{name}`")
    try:
        populate(conn)
        yield name
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
