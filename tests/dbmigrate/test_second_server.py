"""The private second mariadbd: starts, has binlog/GTID, root works over TCP and socket, stops cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.mariadb_server import MariaDBServer

pytestmark = pytest.mark.mariadb


def test_second_server_runs_with_binlog(second_mariadb: MariaDBServer) -> None:
    assert second_mariadb.port != 3306
    rows = second_mariadb.execute("SELECT @@log_bin, @@binlog_format, @@server_id, @@gtid_strict_mode")
    assert rows == [(1, "ROW", 2, 1)]
    conn = second_mariadb.connect()  # TCP as root without password
    try:
        cur = conn.cursor()
        cur.execute("SELECT @@port")
        assert cur.fetchone() == (second_mariadb.port,)
    finally:
        conn.close()


def test_server_without_binlog_starts_and_stops(tmp_path: Path) -> None:
    server = MariaDBServer(base_dir=tmp_path / "m", server_id=7, log_bin=False)
    with server:
        assert server.execute("SELECT @@log_bin, @@server_id") == [(0, 7)]
    assert not server.running
    assert not (tmp_path / "m").exists()
