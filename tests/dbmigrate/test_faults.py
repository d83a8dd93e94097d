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
    "after:indexes:chunk1",  # one table's deferred secondary keys added, the others not yet
    "after:objects:chunk1",  # views/routines/triggers/events created, phase not recorded
]


@pytest.mark.parametrize("physical", ["off", "auto"])  # logical path; tablespace import (test_physical.py)
@pytest.mark.parametrize("fault", FAULTS)
def test_kill_and_rerun_ends_verified(
    fault: str,
    physical: str,
    tmp_path: Path,
    source_db: str,
    source_mariadb: SourceServer,
    second_mariadb: MariaDBServer,
) -> None:
    target = f"{source_db}_{fault.replace(':', '_')}_{physical}"
    plan = write_plan(
        tmp_path / "plan.yml",
        source_mariadb.endpoint(),
        target_of(second_mariadb),
        [{"name": source_db, "strategy": "copy", "target_name": target}],
        chunk_rows=60,
        physical=physical,
    )
    state = tmp_path / "state"
    killed = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", env={"DIRAC_MIGRATE_FAULT": fault})
    assert killed.returncode == -9, f"fault {fault} did not fire: {killed.stdout}{killed.stderr}"

    rerun = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet", "--report", str(tmp_path / "r.json"))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "PASS", rerun.stdout + (tmp_path / "r.txt").read_text()
    assert all(c["verdict"] == "PASS" for t in report["databases"][0]["tables"] for c in t["chunks"])

    src = source_mariadb.connect()
    tgt = second_mariadb.connect()
    try:
        assert independent_checksums(tgt, target) == independent_checksums(src, source_db), rerun.stdout
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


@pytest.mark.slow
def test_killed_at_random_moments_ends_verified(
    tmp_path: Path, source_db: str, source_mariadb: SourceServer, second_mariadb: MariaDBServer
) -> None:
    """SIGKILL from outside at random moments, five times in a row, then let it finish."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    target = f"{source_db}_random"
    plan = write_plan(
        tmp_path / "plan.yml",
        source_mariadb.endpoint(),
        target_of(second_mariadb),
        [{"name": source_db, "strategy": "copy", "target_name": target}],
        chunk_rows=10,
    )
    state = tmp_path / "state"
    rnd = random.Random(7)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-c", "from dirac_core.cli.admin import main; main()", "db", "migrate", str(plan),
           "--state-dir", str(state), "--quiet"]  # fmt: skip
    kills = 0
    for _ in range(6):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.7, 2.0))  # python start-up ~0.5 s, then somewhere in the copy
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += proc.wait() == -signal.SIGKILL
        proc.wait()
    assert kills >= 4, f"only {kills} runs were still running when killed: make the copy slower"
    rerun = run_cli("migrate", str(plan), "--state-dir", str(state), "--quiet")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    src = source_mariadb.connect()
    tgt = second_mariadb.connect()
    try:
        assert independent_checksums(tgt, target) == independent_checksums(src, source_db)
    finally:
        src.close()
        tgt.close()
    second_mariadb.execute(f"DROP DATABASE `{target}`")
