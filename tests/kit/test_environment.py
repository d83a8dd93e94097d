"""Every `dirac-kit` command sets up its own environment (dirac_kit.environment) and keeps its state
per lab and site (dirac_kit.state): the documented commands work with no exports of the caller's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dirac_kit.lab.paths import LabPaths
from dirac_kit.runbook.failure import failure_excerpt
from dirac_kit.state import RunPaths

from .fake_checkout import write_local_lab_inventory

# Variables the kit must derive itself: a caller exporting them would hide a missing set-up.
_KIT_SETS = (
    "ANSIBLE_CONFIG", "ANSIBLE_ROLES_PATH", "ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY_LIST",
    "DIRAC_MIGRATION_MARKER_ROOT", "DIRAC_MIGRATION_REPORT_ROOT", "DIRAC_LAB_SSH_CONFIG", "PYTHONWARNINGS",
)  # fmt: skip


def clean_env(root: Path, lab: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _KIT_SETS}
    return {**env, "DIRAC_KIT_ROOT": str(root), "DIRAC_LAB_NAME": lab}


def kit(root: Path, lab: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=clean_env(root, lab),
        cwd=root, timeout=600,
    )  # fmt: skip


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A kit checkout whose stage-1 'prechecks' step playbook runs a nested ansible-playbook from / that
    needs a role only the kit's roles path has (the kit's environment must reach it), and whose
    'deploy-new' step playbook fails with a cause on stderr."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\nroles_path = ./roles\nretry_files_enabled = False\n")
    role = tmp_path / "roles" / "kit_only_role" / "tasks"
    role.mkdir(parents=True)
    (role / "main.yml").write_text("- name: Say\n  ansible.builtin.debug:\n    msg: kit role found\n")
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    (playbooks / "nested.yml").write_text(
        "- name: Nested\n  hosts: localhost\n  gather_facts: false\n  roles: [kit_only_role]\n"
    )
    # Each runbook step is a playbook of its own (playbooks/stage1-<step>.yml), run by the runner.
    (playbooks / "stage1-prechecks.yml").write_text(
        "- name: Stage 1 prechecks\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Nested run from another directory\n"
        "      ansible.builtin.command:\n"
        "        argv: ['{{ ansible_playbook_python | dirname }}/ansible-playbook', '{{ playbook_dir }}/nested.yml']\n"
        "        chdir: /\n"
    )
    (playbooks / "stage1-deploy-new.yml").write_text(
        "- name: Stage 1 deploy-new\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Fail with a cause\n"
        "      ansible.builtin.shell: echo the-real-cause >&2; exit 3\n"
    )
    write_local_lab_inventory(tmp_path)
    return tmp_path


def test_a_runbook_step_finds_the_kit_settings_without_any_export(checkout: Path) -> None:
    proc = kit(checkout, "alpha", "runbook", "run", "stage1", "-i", "inventories/lab", "--only", "prechecks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    done = RunPaths.of([checkout / "inventories" / "lab"], LabPaths(checkout, "alpha")).runbooks / "stage1" / "markers"
    assert [p.name for p in done.iterdir()] == ["01-prechecks.done"]
    assert "DSA is deprecated" not in proc.stderr


def test_a_failed_step_shows_the_failing_task_and_its_stderr(checkout: Path) -> None:
    proc = kit(checkout, "alpha", "runbook", "run", "stage1", "-i", "inventories/lab", "--only", "deploy-new")
    assert proc.returncode == 1
    failure = proc.stdout.split("failed (exit 2)")[1].split("Fix the cause")[0]
    assert "fatal: [localhost]: FAILED!" in failure
    assert "the-real-cause" in failure


def test_migration_state_is_kept_per_lab_and_never_shared_with_a_site(checkout: Path) -> None:
    lab_inventory = checkout / "inventories" / "lab"
    ran = kit(checkout, "alpha", "runbook", "run", "stage1", "-i", "inventories/lab", "--only", "prechecks")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    mine = kit(checkout, "alpha", "runbook", "status", "stage1", "-i", "inventories/lab")
    other = kit(checkout, "someoneelse", "runbook", "status", "stage1", "-i", "inventories/lab")
    assert " 1. prechecks            done" in mine.stdout, mine.stdout + mine.stderr
    assert " 1. prechecks            pending" in other.stdout, other.stdout + other.stderr
    site = checkout / "inventories" / "cc-in2p3"
    alpha, beta = LabPaths(checkout, "alpha"), LabPaths(checkout, "beta")
    assert RunPaths.of([lab_inventory], alpha).root != RunPaths.of([lab_inventory], beta).root
    assert RunPaths.of([site], alpha) == RunPaths.of([site], beta), "a site's state never depends on the lab name"
    assert RunPaths.of([site], alpha).root == checkout / "var" / "sites" / "cc-in2p3"
    assert RunPaths.of([lab_inventory], alpha).ops == checkout / "var" / "alpha" / "runs" / "lab" / "ops"


def test_an_action_exports_the_kit_settings_and_the_run_state(tmp_path: Path) -> None:
    from dirac_kit.playbook import PlaybookRun, build_command

    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text("[]\n")
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    (tmp_path / "roles").mkdir()
    inventory = tmp_path / "inventories" / "cc-in2p3"
    inventory.mkdir(parents=True)
    _argv, env = build_command(PlaybookRun("deploy", inventory), tmp_path)
    assert env["ANSIBLE_CONFIG"] == str(tmp_path / "ansible.cfg")
    assert env["ANSIBLE_ROLES_PATH"] == str(tmp_path / "roles")
    assert env["DIRAC_MIGRATION_REPORT_ROOT"] == str(tmp_path / "var" / "sites" / "cc-in2p3" / "reports")
    assert "ignore:DSA is deprecated" in env["PYTHONWARNINGS"].split(",")
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)


def test_failure_excerpt_keeps_the_failed_task_out_of_recap_and_timings() -> None:
    stdout = "\n".join(
        ["TASK [Install] ****", "ok: [h1]", "TASK [Break] ****",
         "fatal: [h1]: FAILED! => ", "    msg: the role 'dirac_common' was not found", "",
         "PLAY RECAP ****", "h1 : ok=1 changed=0 unreachable=0 failed=1",
         *[f"Task {n} ------ {n}.00s" for n in range(60)]]
    )  # fmt: skip
    excerpt = failure_excerpt(stdout, "Traceback...\nERROR: boom\n")
    assert "msg: the role 'dirac_common' was not found" in excerpt
    assert "ERROR: boom" in excerpt
    assert "Task 59" not in excerpt and "ok: [h1]" not in excerpt
