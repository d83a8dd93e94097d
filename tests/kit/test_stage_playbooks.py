"""Stage playbooks: bad input is refused before any change, markers make steps resumable.

Real ansible-playbook runs against inventories whose only reachable host is the controller
(connection=local, read-only tasks); every other host points at a closed port, so a play that
should never run fails fast instead of touching anything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from dirac_kit.runbook.context import build_context
from dirac_kit.runbook.model import load_book

REPO = Path(__file__).resolve().parents[2]
PLAYBOOKS = REPO / "playbooks"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CLOSED = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh"}
NO_SERVER = {"host": "127.0.0.1", "port": 1, "password": ""}


def _inventory(tmp_path: Path, *, fg_new: bool = True, plans: dict[str, Any] | None = None) -> Path:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {name: dict(CLOSED) for name in ("cyf-dirac01", "cyf-dirac02", "ccdiracli07", "ccdiracli10", "ccdiracdb01")}
    hosts["cyf-db01"] = local  # the old DB host runs the read-only source checks
    default_plans = {
        "egi": {
            "source": NO_SERVER,
            "target": NO_SERVER,
            "databases": [{"name": "JobDB", "strategy": "reset"}, {"name": "AccountingDB", "strategy": "copy"}],
        },
        "fg": {"source": NO_SERVER, "target": NO_SERVER, "databases": [{"name": "FileCatalogDB", "strategy": "copy"}]},
    }
    fg = ["cyf-dirac02"] + (["ccdiracli10"] if fg_new else [])
    data = {
        "all": {
            "vars": {"dirac_migration_plans": plans or default_plans},
            "hosts": {"localhost": local},
            "children": {
                "cyfronet": {"hosts": {h: hosts[h] for h in ("cyf-dirac01", "cyf-dirac02", "cyf-db01")}},
                "cc_in2p3": {"hosts": {h: hosts[h] for h in ("ccdiracli07", "ccdiracli10", "ccdiracdb01")}},
                "egi": {"hosts": {"cyf-dirac01": {}, "ccdiracli07": {}}},
                "fg": {"hosts": {h: {} for h in fg}},
                "dbservers": {"hosts": {"cyf-db01": {}, "ccdiracdb01": {}}},
                "configservers": {"hosts": {h: {} for h in ("cyf-dirac01", "cyf-dirac02", "ccdiracli07", *fg[1:])}},
            },
        }
    }
    directory = tmp_path / "inv"
    directory.mkdir(exist_ok=True)
    (directory / "hosts.yml").write_text(yaml.safe_dump(data))
    return directory


def _play(tmp_path: Path, inventory: Path, playbook: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{ANSIBLE_PLAYBOOK.parent}:{os.environ['PATH']}",
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_TIMEOUT": "5",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "DIRAC_MIGRATION_MARKER_ROOT": str(tmp_path / "markers"),
        "DIRAC_MIGRATION_REPORT_ROOT": str(tmp_path / "reports"),
    }
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(PLAYBOOKS / playbook), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False, timeout=300)


def _markers(tmp_path: Path) -> list[str]:
    root = tmp_path / "markers"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.done")) if root.exists() else []


def _play_tags(playbook: str) -> list[str]:
    tags: list[str] = []
    for play in yaml.safe_load((PLAYBOOKS / playbook).read_text()):
        for tag in play.get("tags", []):
            if tag != "always" and tag not in tags:
                tags.append(tag)
    return tags


@pytest.mark.parametrize(
    ("book", "playbook"),
    [("stage1", "migrate-stage1.yml"), ("stage2", "migrate-stage2.yml"), ("rollback", "rollback.yml")],
)
def test_runbook_steps_are_the_playbook_tags(tmp_path: Path, book: str, playbook: str) -> None:
    steps = load_book(book, build_context([_inventory(tmp_path)])).steps
    assert [s.id for s in steps] == _play_tags(playbook)
    for step in steps:
        assert f"playbooks/{playbook}" in step.command and step.command[step.command.index("--tags") + 1] == step.id


def test_inventory_without_target_hosts_is_refused_before_any_change(tmp_path: Path) -> None:
    result = _play(tmp_path, _inventory(tmp_path, fg_new=False), "migrate-stage1.yml")
    assert result.returncode != 0
    assert "instance fg has no target hosts on the new site cc_in2p3" in result.stdout + result.stderr
    assert "remaining steps: prechecks, deploy-new, migrate-db, cutover, verify-new, stop-old" in result.stdout
    assert "changed=0" in result.stdout and "ccdiracli" not in result.stdout.split("PLAY RECAP")[1]
    assert _markers(tmp_path) == []


def test_plan_naming_an_unknown_database_is_refused(tmp_path: Path) -> None:
    plans = {
        "egi": {"source": NO_SERVER, "target": NO_SERVER, "databases": [{"name": "JobsDB", "strategy": "reset"}]},
        "fg": {"source": NO_SERVER, "target": NO_SERVER, "databases": [{"name": "FileCatalogDB", "strategy": "copy"}]},
    }
    result = _play(tmp_path, _inventory(tmp_path, plans=plans), "migrate-stage1.yml")
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "plan of egi: database JobsDB with strategy reset is not valid" in out
    assert "fix dirac_migration_plans.egi" in out
    assert _markers(tmp_path) == []


def _mariadb_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 3306), timeout=1).close()
    except OSError:
        return False
    return shutil.which("mysql") is not None


@pytest.mark.mariadb
@pytest.mark.skipif(not _mariadb_up(), reason="needs the MariaDB server at 127.0.0.1:3306 and the mysql client")
def test_plan_naming_a_database_missing_on_the_source_is_refused(tmp_path: Path) -> None:
    source = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
    plans = {
        "egi": {
            "source": source,
            "target": NO_SERVER,
            "databases": [{"name": "EiscatFileCatalogDB", "strategy": "copy"}],
        },
        "fg": {"source": source, "target": NO_SERVER, "databases": [{"name": "FileCatalogDB", "strategy": "copy"}]},
    }
    names = {"EiscatFileCatalogDB": "stage_NoSuchCatalogDB", "FileCatalogDB": "stage_NoSuchFileCatalogDB"}
    inventory = _inventory(tmp_path, plans=plans)
    hosts = inventory / "hosts.yml"
    # Known DIRAC names, mapped to databases that do not exist on this server.
    hosts.write_text(hosts.read_text().replace("EiscatFileCatalogDB", names["EiscatFileCatalogDB"]))
    extra = ["-e", '{"dirac_migration_known_databases": ["stage_NoSuchCatalogDB", "FileCatalogDB"]}']
    result = _play(tmp_path, inventory, "migrate-stage1.yml", "--tags", "prechecks", *extra)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "plan of egi names database(s) stage_NoSuchCatalogDB that do not exist on 127.0.0.1" in out
    assert _markers(tmp_path) == []


def test_stage2_before_stage1_is_refused(tmp_path: Path) -> None:
    result = _play(tmp_path, _inventory(tmp_path), "migrate-stage2.yml")
    assert result.returncode != 0
    assert "stage 1 has not finished" in result.stdout + result.stderr
    assert "run stage 1 to its end first" in result.stdout + result.stderr
    assert _markers(tmp_path) == []


def test_rollback_before_stage1_migrated_is_refused(tmp_path: Path) -> None:
    result = _play(tmp_path, _inventory(tmp_path), "rollback.yml")
    assert result.returncode != 0
    assert "stage 1 has not migrated the databases" in result.stdout + result.stderr


def test_rollback_after_stage2_is_refused(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    for marker in ("stage1/migrate-db", "stage2/shared-config"):
        path = tmp_path / "markers" / "inv" / f"{marker}.done"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"results": {"fingerprint": {}}}')
    result = _play(tmp_path, inventory, "rollback.yml")
    assert result.returncode != 0
    assert "this rollback only covers stage 1" in result.stdout + result.stderr


def test_stage2_skips_finished_steps_and_names_the_remaining_ones(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    for marker in ("stage1/stop-old", "stage2/config-diff-before"):
        path = tmp_path / "markers" / "inv" / f"{marker}.done"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    before = tmp_path / "reports" / "inv" / "stage2" / "before"
    for instance in ("egi", "fg"):  # what config-diff-before fetched from the CS masters
        (before / instance).mkdir(parents=True)
        shutil.copy(REPO / "etc/examples/shared.cfg", before / instance / "00-shared.cfg")
        shutil.copy(REPO / f"etc/examples/{instance}.cfg", before / instance / f"10-{instance}.cfg")
    result = _play(tmp_path, inventory, "migrate-stage2.yml")
    out = result.stdout
    assert "stage2/config-diff-before already done" in out
    assert "verified: every instance's merged configuration is unchanged" in out  # shared-config ran for real
    assert (tmp_path / "reports/inv/stage2/shared/00-shared.cfg").is_file()
    assert result.returncode != 0  # the new-site hosts of this inventory are unreachable
    assert "stage2 stopped at step shared-config" in out
    assert "remaining steps: shared-config, shared-services, config-diff-after, verify" in out
    assert _markers(tmp_path) == ["inv/stage1/stop-old.done", "inv/stage2/config-diff-before.done"]
