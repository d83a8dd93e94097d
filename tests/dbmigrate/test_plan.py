"""Plan validation: shape errors name the key and the fix; server checks refuse before any change."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from dirac_core.dbmigrate.manifest import Manifest
from dirac_core.dbmigrate.plan import PlanError, load_plan, parse_plan
from dirac_core.dbmigrate.runner import Runner
from tests.dbmigrate.conftest import SourceServer
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.support.mariadb_server import MariaDBServer

BASE: dict[str, Any] = {
    "instance": "egi",
    "source": {"host": "db-old", "port": 3306, "user": "migrator"},
    "target": {"host": "db-new", "port": 3306, "user": "migrator"},
    "databases": [{"name": "JobDB", "strategy": "reset", "keep_ids_above_source": True}],
}


def with_db(**db: Any) -> dict[str, Any]:
    return {**BASE, "databases": [db]}


def test_full_plan_parses(tmp_path: Path) -> None:
    (tmp_path / "files.csv").write_text("LFN,size,checksum,SE\n")
    plan = parse_plan(
        {
            **BASE,
            "setup_rename": {"from": "EGI", "to": "EGI-Production"},
            "databases": [
                {"name": "JobDB", "strategy": "reset", "keep_ids_above_source": True},
                {"name": "AccountingDB", "strategy": "copy", "upgrade": True},
                {"name": "FileCatalogDB", "strategy": "copy", "target_name": "FileCatalogDB"},
                {
                    "name": "EiscatFileCatalogDB",
                    "strategy": "repopulate",
                    "from": {"database": "FileCatalogDB", "subtree": "/eiscat.se/"},
                },
                {"name": "OtherCatalogDB", "strategy": "repopulate", "from": {"listing": "files.csv"}},
            ],
            "cutover": {"mode": "frozen", "max_lag": 5},
        },
        base_dir=tmp_path,
    )
    assert [d.strategy for d in plan.databases] == ["reset", "copy", "copy", "repopulate", "repopulate"]
    assert plan.databases[3].repopulate is not None and plan.databases[3].repopulate.subtree == "/eiscat.se"
    assert plan.databases[4].repopulate is not None and plan.databases[4].repopulate.listing == tmp_path / "files.csv"
    assert plan.setup_rename is not None and plan.setup_rename.new == "EGI-Production"
    assert plan.cutover.mode == "frozen" and plan.cutover.options == {"max_lag": 5}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({**BASE, "instance": ""}, "plan.instance: required"),
        ({**BASE, "colour": "red"}, "plan.colour: unknown key"),
        ({**BASE, "source": {"host": "x", "port": "abc"}}, "source.port: 'abc' is not a positive integer"),
        ({**BASE, "target": "db-new"}, "target: required, a mapping"),
        (with_db(name="JobDB", strategy="wipe"), "databases[0] (JobDB).strategy: unknown strategy 'wipe': use one of"),
        (with_db(name="JobDB"), "strategy: unknown strategy None"),
        (with_db(name="X", strategy="copy", keep_ids_above_source=True), "keep_ids_above_source: only meaningful"),
        (with_db(name="X", strategy="repopulate"), "databases[0] (X).from: required for repopulate"),
        (with_db(name="X", strategy="repopulate", **{"from": {"database": "F", "subtree": "eiscat"}}), "absolute"),
        (with_db(name="X", strategy="copy", **{"from": {"listing": "a"}}), "from: only used by strategy: repopulate"),
        ({**BASE, "databases": []}, "databases: expected a non-empty list"),
        ({**BASE, "cutover": {"mode": "yolo"}}, "cutover.mode: unknown mode 'yolo'"),
        ({**BASE, "setup_rename": {"from": "EGI"}}, "setup_rename.to: required"),
    ],
)
def test_shape_errors_name_key_and_fix(data: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanError) as err:
        parse_plan(data)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_bad_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "plan.yml"
    path.write_text("instance: egi\ndatabases: [\n  {name: JobDB\n")
    with pytest.raises(PlanError, match=r"plan.yml:\d+: not valid YAML"):
        load_plan(path)


# ------------------------------------------------------------------------------------ against servers
def _refused(tmp_path: Path, plan_path: Path, message: str, confirm: bool = False) -> None:
    runner = Runner(load_plan(plan_path), tmp_path / "state", confirm=confirm)
    try:
        with pytest.raises(PlanError) as err:
            runner.run()
    finally:
        runner.close()
    assert message in str(err.value), str(err.value)
    assert not (tmp_path / "state").exists(), "a refused plan left a state dir behind"


@pytest.mark.mariadb
def test_server_refusals_change_nothing(
    tmp_path: Path, source_db: str, source_mariadb: SourceServer, second_mariadb: MariaDBServer
) -> None:
    src, tgt = source_mariadb.endpoint(), target_of(second_mariadb)
    occupied = "migrate_occupied"
    second_mariadb.execute(
        f"CREATE DATABASE IF NOT EXISTS {occupied}",
        f"CREATE TABLE IF NOT EXISTS {occupied}.keep (id INT PRIMARY KEY)",
        f"INSERT IGNORE INTO {occupied}.keep VALUES (1)",
    )
    before = second_mariadb.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1")
    plan = tmp_path / "plan.yml"

    write_plan(plan, src, tgt, [{"name": "migrate_nope", "strategy": "copy"}])
    _refused(tmp_path, plan, "databases[0] (migrate_nope).name: database 'migrate_nope' not found on source")

    write_plan(plan, src, tgt, [{"name": "NoSuchDB", "strategy": "reset"}])
    _refused(tmp_path, plan, "unknown database 'NoSuchDB' for reset: dirac_core has a schema for")

    write_plan(plan, src, tgt, [{"name": "JobDB", "strategy": "reset", "target_name": occupied}])
    _refused(tmp_path, plan, f"reset would delete the rows of target database '{occupied}'")
    _refused(tmp_path, plan, "pass --confirm to reset it")

    write_plan(plan, src, tgt, [{"name": source_db, "strategy": "copy", "target_name": occupied}])
    _refused(tmp_path, plan, f"target database '{occupied}' on root@127.0.0.1:{second_mariadb.port} is not empty")

    # a first entry that would pass does not run when a later one is refused
    write_plan(
        plan,
        src,
        tgt,
        [
            {"name": source_db, "strategy": "copy", "target_name": "migrate_never"},
            {"name": "EiscatFileCatalogDB", "strategy": "repopulate",
             "from": {"database": source_db, "subtree": "/eiscat.se"}},
        ],
    )  # fmt: skip
    _refused(tmp_path, plan, "is not a file catalog")
    second_mariadb.execute(f"CREATE TABLE {occupied}.FC_DirectoryList (DirID INT PRIMARY KEY, Name VARCHAR(255))")
    second_mariadb.execute(f"INSERT INTO {occupied}.FC_DirectoryList VALUES (1, '/'), (2, '/egi')")
    write_plan(
        plan,
        tgt,
        tgt,
        [
            {
                "name": "EiscatFileCatalogDB",
                "strategy": "repopulate",
                "from": {"database": occupied, "subtree": "/eiscat.se"},
            }
        ],
    )
    _refused(tmp_path, plan, "from.subtree: directory '/eiscat.se' not found in migrate_occupied")

    write_plan(plan, src, tgt, [{"name": "X", "strategy": "repopulate", "from": {"listing": "missing.csv"}}])
    _refused(tmp_path, plan, "from.listing: file")

    assert second_mariadb.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1") == before
    assert second_mariadb.execute(f"SELECT id FROM {occupied}.keep") == [(1,)]

    # through the CLI: one line on stderr, exit status 2
    write_plan(plan, src, tgt, [{"name": "migrate_nope", "strategy": "copy"}])
    out = run_cli("migrate", str(plan), "--state-dir", str(tmp_path / "cli-state"))
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: databases[0] (migrate_nope).name")
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "cli-state").exists()
    out = run_cli("migrate", str(plan))  # default state dir: PLAN.state
    assert out.returncode == 2
    assert not plan.with_suffix(".state").exists(), "a refused plan left PLAN.state behind"
    second_mariadb.execute(f"DROP DATABASE {occupied}")


@pytest.mark.mariadb
def test_dry_run_prints_per_db_and_changes_nothing(
    tmp_path: Path, source_db: str, source_mariadb: SourceServer, second_mariadb: MariaDBServer
) -> None:
    plan = write_plan(
        tmp_path / "plan.yml",
        source_mariadb.endpoint(),
        target_of(second_mariadb),
        [
            {"name": source_db, "strategy": "copy", "target_name": "migrate_dry"},
            {"name": "JobDB", "strategy": "reset", "target_name": "migrate_dry_jobdb", "keep_ids_above_source": True},
        ],
    )
    out = run_cli("migrate", str(plan), "--dry-run", "--state-dir", str(tmp_path / "state"))
    assert out.returncode == 0, out.stderr
    assert f"{source_db}: copy [copy]" in out.stdout
    assert "JobDB: reset [reset]" in out.stdout and "recreates migrate_dry_jobdb empty" in out.stdout
    assert "7 tables" in out.stdout
    assert second_mariadb.execute(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'migrate_dry%'"
    ) == [(0,)]


def test_an_upgraded_copy_with_an_instance_prefix_uses_its_dirac_schema() -> None:
    from dirac_core.dbmigrate.plan import DatabasePlan, schema_spec_name

    assert schema_spec_name(DatabasePlan("fg_AccountingDB", "copy", "fg_AccountingDB", upgrade=True)) == "AccountingDB"
    assert schema_spec_name(DatabasePlan("AccountingDB", "copy", "AccountingDB", upgrade=True)) == "AccountingDB"
    assert schema_spec_name(DatabasePlan("fg_NoSuchDB", "copy", "fg_NoSuchDB", upgrade=True)) is None


def test_the_state_dir_is_the_operators_alone(tmp_path: Path) -> None:
    """It holds dumps of the databases: 0700 directory, 0600 manifest, whatever the umask."""
    old = os.umask(0o022)
    try:
        manifest = Manifest(tmp_path / "plan.state")
        manifest.set("instance", "egi")
        manifest.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "plan.state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "plan.state" / "manifest.sqlite").stat().st_mode) == 0o600
