"""Fixtures shared by all tests: real databases, never mocks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.support.mariadb import scratch_database


@pytest.fixture
def mariadb_database() -> Iterator[URL]:
    """A fresh, uniquely named database on the MariaDB at 127.0.0.1:3306, dropped afterwards.

    Fails (does not skip) when MariaDB is down: scripts/setup.sh starts it.
    """
    with scratch_database("test") as url:
        yield url


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
