"""repopulate: a new catalog from a subtree of another catalog, or from a storage listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirac_core.dbmigrate.plan import load_plan
from dirac_core.dbmigrate.runner import Runner
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.support.mariadb_server import MariaDBServer

pytest.importorskip("dirac_core.db.filecatalogdb", reason="the FileCatalogDB schema comes with the catalog branch")
pytestmark = pytest.mark.mariadb

SRC = "migrate_fc_src"
DIRS = [  # DirID, Name, Parent
    (1, "/", 0),
    (2, "/eiscat.se", 1),
    (3, "/eiscat.se/a", 2),
    (4, "/eiscat.se/a/b", 3),
    (5, "/egi", 1),
    (6, "/egi/x", 5),
    (7, "/eiscat.seX", 1),  # shares the prefix, not the subtree
]


@pytest.fixture
def source_catalog(second_mariadb: MariaDBServer) -> str:
    from dirac_core.db import schema
    from dirac_core.db.engine import make_engine
    from dirac_core.db.installed import get_database

    second_mariadb.execute(f"DROP DATABASE IF EXISTS {SRC}", f"CREATE DATABASE {SRC}")
    engine = make_engine(second_mariadb.url(SRC), pool_size=1)
    try:
        schema.init(get_database("FileCatalogDB"), engine)
    finally:
        engine.dispose()
    stmts = [f"INSERT INTO {SRC}.FC_Users (UID, UserName) VALUES (1, 'alice'), (2, 'bob'), (3, 'carol')",
             f"INSERT INTO {SRC}.FC_Groups (GID, GroupName) VALUES (1, 'eiscat_user'), (2, 'egi_user')",
             f"INSERT INTO {SRC}.FC_StorageElements (SEID, SEName) VALUES (1, 'EISCAT-disk'), (2, 'CERN-disk'), "
             "(3, 'Unused-SE')"]  # fmt: skip
    for dir_id, name, parent in DIRS:
        uid = 1 if name.startswith("/eiscat.se/") or name == "/eiscat.se" else 2
        stmts.append(f"INSERT INTO {SRC}.FC_DirectoryList (DirID, Name, Parent, UID, GID) VALUES "
                     f"({dir_id}, '{name}', {parent}, {uid}, {uid})")  # fmt: skip
    file_id = 0
    for dir_id, _name, _parent in DIRS[1:]:
        for k in range(3):
            file_id += 1
            uid = 1 if dir_id in (2, 3, 4) else 3
            stmts += [
                f"INSERT INTO {SRC}.FC_Files (FileID, DirID, FileName, Size, UID, GID) VALUES "
                f"({file_id}, {dir_id}, 'f{k}.dat', {1000 * file_id}, {uid}, 1)",
                f"INSERT INTO {SRC}.FC_FileInfo (FileID, GUID, Checksum) "
                f"VALUES ({file_id}, 'g{file_id}', 'ad{file_id}')",
                f"INSERT INTO {SRC}.FC_Replicas (FileID, SEID) VALUES ({file_id}, {1 if dir_id in (2, 3, 4) else 2})",
            ]
    second_mariadb.execute(*stmts)
    return SRC


def _run(plan: Path, state: Path) -> None:
    runner = Runner(load_plan(plan), state)
    try:
        report = runner.run()
    finally:
        runner.close()
    assert report.passed, report.text()


def test_subtree_copy(tmp_path: Path, source_catalog: str, second_mariadb: MariaDBServer) -> None:
    new = "migrate_eiscat_fc"
    server = target_of(second_mariadb)
    plan = write_plan(
        tmp_path / "plan.yml",
        server,
        server,
        [{"name": "EiscatFileCatalogDB", "strategy": "repopulate", "target_name": new,
          "from": {"database": source_catalog, "subtree": "/eiscat.se"}}],
    )  # fmt: skip
    killed = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "state"), "--quiet",
                     env={"DIRAC_MIGRATE_FAULT": "during:repopulate:chunk3"})  # fmt: skip
    assert killed.returncode == -9
    _run(plan, tmp_path / "state")
    names = [r[0] for r in second_mariadb.execute(f"SELECT Name FROM {new}.FC_DirectoryList ORDER BY DirID")]
    assert names == ["/", "/eiscat.se", "/eiscat.se/a", "/eiscat.se/a/b"]
    assert second_mariadb.execute(f"SELECT COUNT(*), SUM(Size) FROM {new}.FC_Files") == [(9, 45000)]
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM {new}.FC_Replicas") == [(9,)]
    assert [r[0] for r in second_mariadb.execute(f"SELECT SEName FROM {new}.FC_StorageElements")] == ["EISCAT-disk"]
    assert [r[0] for r in second_mariadb.execute(f"SELECT UserName FROM {new}.FC_Users ORDER BY 1")] == [
        "alice",
        "bob",  # owner of "/"
    ]
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM {new}.FC_DirectoryClosure") == [(10,)]
    second_mariadb.execute(f"DROP DATABASE {new}", f"DROP DATABASE {SRC}")


def test_listing(tmp_path: Path, second_mariadb: MariaDBServer) -> None:
    new = "migrate_listing_fc"
    listing = tmp_path / "files.csv"
    listing.write_text(
        "LFN,size,checksum,SE\n"
        "/vo/data/run1/a.root,100,ad000001,SE-A\n"
        "/vo/data/run1/a.root,100,ad000001,SE-B\n"
        "/vo/data/run2/b.root,200,ad000002,SE-A\n"
        "/vo/c.txt,0,,SE-B\n"
    )
    server = target_of(second_mariadb)
    plan = write_plan(
        tmp_path / "plan.yml",
        server,
        server,
        [
            {
                "name": "OtherFileCatalogDB",
                "strategy": "repopulate",
                "target_name": new,
                "from": {"listing": "files.csv"},
            }
        ],
    )
    _run(plan, tmp_path / "state")
    names = {r[0] for r in second_mariadb.execute(f"SELECT Name FROM {new}.FC_DirectoryList")}
    assert names == {"/", "/vo", "/vo/data", "/vo/data/run1", "/vo/data/run2"}
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM {new}.FC_Files") == [(3,)]
    assert second_mariadb.execute(f"SELECT COUNT(*) FROM {new}.FC_Replicas") == [(4,)]
    second_mariadb.execute(f"DROP DATABASE {new}")
