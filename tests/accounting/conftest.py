"""Accounting fixtures: AccountingDB on SQLite files or on a MariaDB database named accounting_<hex>."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from dirac_core.accounting_types import BUILTIN_TYPES
from dirac_core.db.accountingdb import AccountingDB
from dirac_core.db.engine import make_engine
from tests.support.mariadb import mariadb_root_url, scratch_database

SETUP = "Test-Setup"


def _server_url(database: str | None = None) -> URL:
    """The shared MariaDB (127.0.0.1:3306), or $ACCOUNTING_MARIADB_URL (a server URL, no database)."""
    override = os.environ.get("ACCOUNTING_MARIADB_URL")
    if not override:
        return mariadb_root_url(database)
    return make_url(override).set(database=database)


@pytest.fixture(scope="session")
def mariadb_accounting_url() -> Iterator[URL]:
    """One MariaDB database per session (table creation is the slow part); tests empty it."""
    with scratch_database("accounting", _server_url()) as url:
        yield url


def _empty(url: URL) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in inspect(conn).get_table_names():
            conn.execute(text(f"DELETE FROM `{table}`"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def acc_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | URL:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'AccountingDB.sqlite'}"
    url: URL = request.getfixturevalue("mariadb_accounting_url")
    _empty(url)
    return url


@pytest.fixture
def acdb(acc_url: str | URL) -> Iterator[AccountingDB]:
    """AccountingDB with its static tables and Job + DataOperation registered for SETUP."""
    db = AccountingDB(make_engine(acc_url))
    db.create_tables()
    for atype in BUILTIN_TYPES.values():
        db.register_type(SETUP, atype)
    try:
        yield db
    finally:
        db.engine.dispose()
