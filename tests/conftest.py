"""Fixtures shared by all tests: real databases, never mocks."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from dirac_core.db.engine import mysql_driver

MARIADB_HOST = "127.0.0.1"
MARIADB_PORT = 3306


def mariadb_root_url(database: str | None = None) -> URL:
    return URL.create(
        f"mysql+{mysql_driver()}",
        username="root",
        password="",
        host=MARIADB_HOST,
        port=MARIADB_PORT,
        database=database,
        query={"charset": "utf8mb4"},
    )


@pytest.fixture
def mariadb_database() -> Iterator[URL]:
    """A fresh, uniquely named database on the MariaDB at 127.0.0.1:3306, dropped afterwards.

    Fails (does not skip) when MariaDB is down: scripts/setup.sh starts it.
    """
    name = f"test_{secrets.token_hex(6)}"
    admin = create_engine(mariadb_root_url())
    with admin.begin() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    try:
        yield mariadb_root_url(name)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | URL]:
    """Run a test once on the embedded SQLite and once on MariaDB."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        yield request.getfixturevalue("mariadb_database")
