"""Catalog fixtures: a FileCatalog on a real backend (SQLite file, or a MariaDB database `catalog_*`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from dirac_core.auth.caller import Caller, Properties
from dirac_core.catalog.catalog import FileCatalog
from dirac_core.db import filecatalogdb
from dirac_core.db.engine import make_engine
from tests.support.mariadb import scratch_database

ALICE = Caller("sub-alice", "alice", "vo", "vo_user", frozenset({Properties.NORMAL_USER}))
BOB = Caller("sub-bob", "bob", "vo", "vo_user", frozenset({Properties.NORMAL_USER}))
CAROL = Caller("sub-carol", "carol", "vo", "vo_prod", frozenset({Properties.NORMAL_USER}))
ADMIN = Caller("sub-admin", "admin", "vo", "vo_admin", frozenset({Properties.FILE_CATALOG_MANAGEMENT}))
SES = ("SE-A", "SE-B", "SE-C")


@pytest.fixture(scope="session")
def mariadb_catalog_url() -> Iterator[URL]:
    """One `catalog_*` MariaDB database per session with the FileCatalogDB tables; tests empty it."""
    with scratch_database("catalog") as url:
        engine = make_engine(url)
        filecatalogdb.metadata.create_all(engine)
        engine.dispose()
        yield url


def empty(engine: Engine) -> None:
    """Drop the per-field metadata tables and empty the fixed ones (ids restart at 1)."""
    fixed = {table.name for table in filecatalogdb.metadata.sorted_tables}
    dynamic = [name for name in inspect(engine).get_table_names() if name.startswith("FC_") and name not in fixed]
    with engine.begin() as conn:
        for name in dynamic:
            conn.execute(text(f"DROP TABLE `{name}`"))
        for name in fixed:
            conn.execute(text(f"TRUNCATE TABLE `{name}`"))


def make_catalog(engine: Engine, **kwargs: object) -> FileCatalog:
    return FileCatalog(engine, known_ses=SES, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'FileCatalogDB.sqlite'}")
        filecatalogdb.metadata.create_all(eng)
    else:
        eng = make_engine(request.getfixturevalue("mariadb_catalog_url"))
        empty(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def catalog(engine: Engine) -> FileCatalog:
    """A catalog where admin made /vo/user/a/alice (alice's) and /vo/user/b/bob (bob's)."""
    fc = make_catalog(engine)
    fc.directories.create(ADMIN, ["/vo/user/a/alice", "/vo/user/b/bob", "/vo/data"])
    fc.ownership.change_owner(ADMIN, {"/vo/user/a/alice": {"Owner": "alice", "Group": "vo_user"}})
    fc.ownership.change_owner(ADMIN, {"/vo/user/b/bob": {"Owner": "bob", "Group": "vo_user"}})
    fc.ownership.change_mode(ADMIN, {"/vo/user/a/alice": "755", "/vo/user/b/bob": "755"})
    return fc
