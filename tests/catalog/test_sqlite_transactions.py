"""SQLite mode: begin_nested() is a real SAVEPOINT inside the request's transaction, a batch is one
transaction, and one request writes through one connection (dirac_core/db/engine.py, catalog/store.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from dirac_core.db import filecatalogdb
from dirac_core.db.engine import make_engine

from .conftest import ADMIN, make_catalog


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'FileCatalogDB.sqlite'}")
    filecatalogdb.metadata.create_all(engine)
    return engine


def names(engine: Engine, sql: str) -> list[str]:
    with engine.connect() as conn:
        return sorted(str(row[0]) for row in conn.execute(text(sql)))


def test_a_row_written_in_a_savepoint_goes_with_the_outer_rollback(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 't.sqlite'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY)"))
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("SELECT COUNT(*) FROM t"))
        with conn.begin_nested():  # the request's first write, as a new directory in addFile
            conn.execute(text("INSERT INTO t VALUES ('nested')"))
        conn.execute(text("INSERT INTO t VALUES ('outer')"))
        raise RuntimeError("the request fails after its savepoint was released")
    assert names(engine, "SELECT name FROM t") == []
    with engine.begin() as conn:  # and a savepoint rolled back alone keeps the rest
        conn.execute(text("INSERT INTO t VALUES ('kept')"))
        with pytest.raises(RuntimeError), conn.begin_nested():
            conn.execute(text("INSERT INTO t VALUES ('undone')"))
            raise RuntimeError("this item fails")
    assert names(engine, "SELECT name FROM t") == ["kept"]


def test_a_failed_batch_add_leaves_no_directories_behind(sqlite_engine: Engine) -> None:
    """The docs promise one transaction per addFile batch: a failure after the directories were made
    (here the replica table is gone) must not leave them, as a kill -9 mid-batch did."""
    fc = make_catalog(sqlite_engine)
    fc.directories.create(ADMIN, ["/vo/kept"])
    with sqlite_engine.begin() as conn:
        conn.execute(text("DROP TABLE FC_Replicas"))
    files = {f"/vo/new/d{i}/f": {"Size": 1, "SE": "SE-A", "PFN": f"pfn:{i}"} for i in range(5)}
    with pytest.raises(OperationalError, match="FC_Replicas"):
        fc.files.add(ADMIN, files)
    assert names(sqlite_engine, "SELECT Name FROM FC_DirectoryList") == ["/", "/vo", "/vo/kept"]
    assert names(sqlite_engine, "SELECT FileName FROM FC_Files") == []


@pytest.mark.timeout(60)
def test_bulk_chown_to_new_users_does_not_lock_the_catalog_against_itself(sqlite_engine: Engine) -> None:
    """Each new user name is created in the request's own transaction, not through a second
    connection that waits for the first one's write lock (30 s, then a 500)."""
    fc = make_catalog(sqlite_engine)
    fc.directories.create(ADMIN, ["/vo/a", "/vo/b", "/vo/c"])
    started = time.monotonic()
    reply = fc.ownership.change_owner(ADMIN, {"/vo/a": "newuser1", "/vo/b": "newuser2", "/vo/c": "newuser3"})
    took = time.monotonic() - started
    assert reply == {"Successful": dict.fromkeys(["/vo/a", "/vo/b", "/vo/c"], True), "Failed": {}}
    assert took < 5
    listing = fc.directories.list_dir(ADMIN, ["/vo"])["Successful"]["/vo"]["SubDirs"]
    assert {path: meta["Owner"] for path, meta in listing.items()} == {
        "/vo/a": "newuser1",
        "/vo/b": "newuser2",
        "/vo/c": "newuser3",
    }
