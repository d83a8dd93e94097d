"""Role dirac_db_migrate through playbooks/db-migrate.yml with the real engine and two private
MariaDB servers (the shared one at 3306 is never touched): dry run in check mode changes nothing,
the real run cuts over (replicate mode, freeze window reported), the report comes home, a re-run
resumes and changes no data.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.mariadb

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

try:  # the engine and its test server helper arrive with the migration engine branch
    import dirac_core.dbmigrate.cutover  # noqa: F401
    from tests.support.mariadb_server import MariaDBServer
except ImportError as exc:  # pragma: no cover - depends on the checkout
    pytest.skip(f"the migration engine is not in this checkout ({exc})", allow_module_level=True)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    base = tmp_path_factory.mktemp("servers")
    source = MariaDBServer(base_dir=base / "source", server_id=21, gtid_domain_id=21).start()
    # Target without binlog: the engine's cutover refuses a target whose own binlog holds GTIDs.
    target = MariaDBServer(base_dir=base / "target", server_id=22, gtid_domain_id=22, log_bin=False).start()
    try:
        yield source, target
    finally:
        source.stop()
        target.stop()


def _inventory(tmp_path: Path, source: Any, target: Any) -> Path:
    data = {
        "all": {
            "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
            "children": {"dbservers": {"hosts": {"localhost": {}}}, "cc_in2p3": {"hosts": {"localhost": {}}}},
            "vars": {
                "dirac_db_migrate_command": str(BIN / "dirac-core"),
                "dirac_db_migrate_workdir": str(tmp_path / "work"),
                "dirac_db_migrate_report_root": str(tmp_path / "reports"),
                "dirac_db_migrate_run_id": "run1",
                "dirac_db_migrate_owner": "root",
                "dirac_db_migrate_poll": 1,
                "dirac_migration_plans": {
                    "t": {
                        "source": {"host": "127.0.0.1", "port": source.port, "user": "root", "password": ""},
                        "target": {"host": "127.0.0.1", "port": target.port, "user": "root", "password": ""},
                        "databases": [{"name": "stage_AccountingDB", "strategy": "copy"}],
                        "cutover_mode": "replicate",
                    }
                },
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def _play(inventory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
           "ANSIBLE_NOCOLOR": "1"}  # fmt: skip
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(REPO / "playbooks/db-migrate.yml"),
               "-e", "instance=t", *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False, timeout=600)


def _rows(server: Any, query: str) -> list[tuple[Any, ...]]:
    import pymysql

    with pymysql.connect(host="127.0.0.1", port=server.port, user="root", password="") as conn, conn.cursor() as cur:
        cur.execute(query)
        return list(cur.fetchall())


def test_dry_run_then_cutover_then_resume(tmp_path: Path, servers: tuple[Any, Any]) -> None:
    source, target = servers
    source.execute(
        "CREATE DATABASE stage_AccountingDB CHARACTER SET utf8mb4",
        "CREATE TABLE stage_AccountingDB.ac_bucket (id INT PRIMARY KEY AUTO_INCREMENT, setup VARCHAR(32), "
        "v DOUBLE NULL, blob_col BLOB NULL)",
        "INSERT INTO stage_AccountingDB.ac_bucket (setup, v, blob_col) VALUES "
        "('EGI-Production', 1.5, NULL), ('FG-Production', NULL, 'x'), ('EGI-Production', 3, 'ü')",
        "CREATE TABLE stage_AccountingDB.nopk (k INT, t TEXT)",
        "INSERT INTO stage_AccountingDB.nopk VALUES (1, 'a'), (1, 'a'), (2, NULL)",
    )
    inventory = _inventory(tmp_path, source, target)

    dry = _play(inventory, "--check")
    assert dry.returncode == 0, dry.stdout[-3000:]
    assert "stage_AccountingDB" in (tmp_path / "reports/run1/t-dry-run.txt").read_text()
    assert ("stage_AccountingDB",) not in _rows(target, "SHOW DATABASES")  # the dry run changed nothing
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").rglob("*.password"))

    real = _play(inventory)
    assert real.returncode == 0, real.stdout[-3000:]
    report = json.loads((tmp_path / "reports/run1/t.json").read_text())
    assert report["verdict"] == "PASS"
    assert "freeze window" in real.stdout
    query = "SELECT id, setup, v, blob_col FROM stage_AccountingDB.ac_bucket ORDER BY id"
    assert _rows(target, query) == _rows(source, query)
    assert sorted(_rows(target, "SELECT * FROM stage_AccountingDB.nopk"), key=repr) == sorted(
        _rows(source, "SELECT * FROM stage_AccountingDB.nopk"), key=repr
    )
    for secret in (tmp_path / "work" / "t").glob("*.password"):
        assert secret.stat().st_mode & 0o777 == 0o600

    again = _play(inventory)  # resumes a finished migration: nothing to do, still PASS
    assert again.returncode == 0, again.stdout[-3000:]
    assert re.search(r"localhost\s*:\s*ok=\d+\s+changed=0\b", again.stdout), again.stdout[-3000:]  # idempotent
    assert _rows(target, query) == _rows(source, query)
