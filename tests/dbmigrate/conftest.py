"""Fixtures of the migration tests: the shared MariaDB at 127.0.0.1:3306 and a private second one."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
