"""The MariaDB at 127.0.0.1:3306 that tests and benchmarks share: root URLs and scratch databases."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from dirac_core.db.engine import mysql_driver

MARIADB_HOST = "127.0.0.1"
MARIADB_PORT = 3306


def mariadb_root_url(database: str | None = None, driver: str | None = None) -> URL:
    """root@127.0.0.1:3306 (no password, utf8mb4) with the installed driver unless `driver` names one."""
    return URL.create(
        f"mysql+{driver or mysql_driver()}",
        username="root",
        password="",
        host=MARIADB_HOST,
        port=MARIADB_PORT,
        database=database,
        query={"charset": "utf8mb4"},
    )


@contextmanager
def scratch_database(prefix: str, server: URL | None = None) -> Iterator[URL]:
    """A new database ``<prefix>_<random hex>`` (utf8mb4) on `server` (default: the shared MariaDB),
    dropped on exit. Fails (does not skip) when MariaDB is down: scripts/setup.sh starts it."""
    server = server or mariadb_root_url()
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield server.set(database=name)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()
