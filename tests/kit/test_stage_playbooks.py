"""Stage and step playbooks: bad input is refused before any change; a stage playbook is its step
playbooks in order and stops at the first failing step, naming where to resume.

Real ansible-playbook runs against inventories whose only reachable host is the controller
(connection=local, read-only tasks); every other host points at a closed port, so a play that
should never run fails fast instead of touching anything. No playbook writes a marker: the runbook
runner records the steps (tests/kit/test_runbook.py).
"""

from __future__ import annotations

import json
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


def _play(
    tmp_path: Path, inventory: Path, playbook: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PATH": f"{ANSIBLE_PLAYBOOK.parent}:{os.environ['PATH']}",
        "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
        "ANSIBLE_TIMEOUT": "5",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "DIRAC_MIGRATION_REPORT_ROOT": str(tmp_path / "reports"),
        **(env or {}),
    }
    command = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), str(PLAYBOOKS / playbook), *args]
    return subprocess.run(
        command, capture_output=True, text=True, env=environment, cwd=tmp_path, check=False, timeout=300
    )


MARKER_TASKS = ("step_begin", "step_done", "play_done", "require_step", "nested_playbook")


@pytest.mark.parametrize(
    ("book", "playbook"),
    [("stage1", "migrate-stage1.yml"), ("stage2", "migrate-stage2.yml"), ("rollback", "rollback.yml")],
)
def test_a_stage_playbook_imports_the_runbooks_step_playbooks_in_order(
    tmp_path: Path, book: str, playbook: str
) -> None:
    """One engine: the runbook's steps are the step playbooks the stage playbook imports, each a plain
    playbook tagged with its step, with no marker task and no nested ansible-playbook."""
    steps = load_book(book, build_context([_inventory(tmp_path)])).steps
    imported = [
        entry["ansible.builtin.import_playbook"] for entry in yaml.safe_load((PLAYBOOKS / playbook).read_text())
    ]
    assert [name for name in imported if name != "step-gate.yml"] == [step.playbook for step in steps]
    assert imported[1::2] == ["step-gate.yml"] * (len(steps) - 1)  # a failed host ends the run between steps
    for step in steps:
        assert step.playbook == f"{book}-{step.id}.yml"
        text = (PLAYBOOKS / step.playbook).read_text()
        assert not any(name in text for name in MARKER_TASKS) and "ansible-playbook'" not in text
        for play in yaml.safe_load(text):
            assert play.get("tags") == [step.id], f"{step.playbook}: {play.get('name')} is not tagged {step.id}"
            assert "import_playbook" in str(play) or play.get("any_errors_fatal") is True, play.get("name")
    assert not list((REPO / "roles").rglob("nested_playbook.yml"))


def test_inventory_without_target_hosts_is_refused_before_any_change(tmp_path: Path) -> None:
    result = _play(tmp_path, _inventory(tmp_path, fg_new=False), "migrate-stage1.yml")
    assert result.returncode != 0
    assert "instance fg has no target hosts on the new site cc_in2p3" in result.stdout + result.stderr
    assert "stage1 stopped at step prechecks" in result.stdout
    assert "remaining steps: prechecks, deploy-new, migrate-db, cutover, verify-new, stop-old" in result.stdout
    assert f"resume: ansible-playbook -i {tmp_path / 'inv'} playbooks/stage1-prechecks.yml" in result.stdout
    assert "changed=0" in result.stdout and "ccdiracli" not in result.stdout.split("PLAY RECAP")[1]


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
    result = _play(tmp_path, inventory, "stage1-prechecks.yml", *extra)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "plan of egi names database(s) stage_NoSuchCatalogDB that do not exist on 127.0.0.1" in out


def test_rollback_before_stage1_migrated_is_refused(tmp_path: Path) -> None:
    """Host state, not a marker: the engine host has no fingerprint of a stage-1 migration."""
    extra = ["-e", "dirac_db_migrate_engine_hosts=cyf-db01", "-e", f"dirac_migration_engine_dir={tmp_path / 'engine'}"]
    result = _play(tmp_path, _inventory(tmp_path), "rollback.yml", *extra)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "stage 1 has not migrated the databases" in out and str(tmp_path / "engine") in out
    assert "rollback stopped at step prechecks" in out
    assert "remaining steps: prechecks, freeze-new, carry-back, switch-back" in out


def test_cutover_before_migrate_db_is_refused(tmp_path: Path) -> None:
    extra = ["-e", "dirac_db_migrate_engine_hosts=cyf-db01", "-e", f"dirac_migration_engine_dir={tmp_path / 'engine'}"]
    result = _play(tmp_path, _inventory(tmp_path), "stage1-cutover.yml", *extra)
    out = result.stdout + result.stderr
    assert result.returncode != 0
    assert "the databases have not been migrated" in out and "playbooks/stage1-migrate-db.yml" in out
    assert "ccdiracli" not in out.split("PLAY RECAP")[1]  # no CS touched


def test_a_step_hands_its_results_to_the_runner(tmp_path: Path) -> None:
    """set_stats of a step playbook end up in $DIRAC_KIT_RESULT (the runner's report reads them)."""
    inventory = _inventory(tmp_path)
    hosts = yaml.safe_load((inventory / "hosts.yml").read_text())
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts["all"]["children"]["cc_in2p3"]["hosts"].update({"ccdiracli07": local, "ccdiracli10": local})
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    layers = tmp_path / "layers"  # what the new CS masters serve
    layers.mkdir()
    shutil.copy(REPO / "etc/examples/shared.cfg", layers / "00-shared.cfg")
    for instance in ("egi", "fg"):
        shutil.copy(REPO / f"etc/examples/{instance}.cfg", layers / f"10-{instance}.cfg")
    results = tmp_path / "results.json"
    extra = ["-e", f"dirac_migration_layers_dir={layers}"]
    result = _play(tmp_path, inventory, "stage2-config-diff-before.yml", *extra, env={"DIRAC_KIT_RESULT": str(results)})
    assert result.returncode == 0, result.stdout[-3000:]
    report = tmp_path / "reports/inv/stage2/config-diff-before.txt"
    assert report.is_file()
    assert json.loads(results.read_text()) == {"config_diff_before": str(report)}
