"""SIGKILL the engine at named points; the rerun completes verified with zero differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dbmigrate.conftest import SourceServer
from tests.dbmigrate.helpers import run_cli, target_of, write_plan
from tests.dbmigrate.sample import independent_checksums
from tests.support.mariadb_server import MariaDBServer

pytestmark = pytest.mark.mariadb

FAULTS = [
    "during:dump:chunk3",  # mid-file, snapshot open, loaders busy: the rerun dumps again from a new snapshot
    "during:transfer:chunk2",  # partial copy into the load area
    "during:load:chunk4",  # LOAD DATA done, not committed
    "after:load:chunk5",  # committed, manifest not yet told: the reload must be idempotent
    "during:verify:chunk3",  # checksum computed, verdict not recorded
    "after:objects:chunk1",  # views/routines/triggers/events created, phase not recorded
]


@pytest.mark.parametrize("fault", FAULTS)
def test_kill_and_rerun_ends_verified(
    fault: str, tmp_path: Path, source_db: str, source_mariadb: SourceServer, second_mariadb: MariaDBServer
) -> None:
    target = f"{source_db}_{fault.replace(':', '_')}"
    plan = write_plan(
        tmp_path / "plan.yml",
        source_mariadb.endpoint(),
        target_of(second_mariadb),
        [{"name": source_db, "strategy": "copy", "target_name": target}],
        chunk_rows=60,
    )
    state = tmp_path / "state"
    killed = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", env={"DIRAC_MIGRATE_FAULT": fault})
    assert killed.returncode == -9, f"fault {fault} did not fire: {killed.stdout}{killed.stderr}"

    rerun = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", "--report", str(tmp_path / "r.json"))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "PASS"
    assert all(c["verdict"] == "PASS" for t in report["databases"][0]["tables"] for c in t["chunks"])

    src = source_mariadb.connect()
    tgt = second_mariadb.connect()
    try:
        assert independent_checksums(tgt, target) == independent_checksums(src, source_db)
    finally:
        src.close()
        tgt.close()
    objects = second_mariadb.execute(
        f"SELECT (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '{target}'), "
        f"(SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{target}'), "
        f"(SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{target}')"
    )
    assert objects == [(2, 2, 1)]
    second_mariadb.execute(f"DROP DATABASE `{target}`")
