"""`dirac-kit -i INVENTORY <action>`: argument mapping to ansible-playbook, confirmation, one real run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dirac_core.errors import BadRequest, Forbidden
from dirac_kit.playbook import ACTIONS, PlaybookRun, build_command


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A kit checkout with every playbook and an ansible.cfg, and a lab-like inventory."""
    (tmp_path / "playbooks").mkdir()
    for playbook, _destructive in ACTIONS.values():
        (tmp_path / "playbooks" / playbook).write_text(
            "- name: Noop\n  hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - name: Say\n      ansible.builtin.debug:\n        msg: '{{ inventory_hostname }}'\n"
        )
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = False\n")
    inventory = tmp_path / "inventories" / "site"
    inventory.mkdir(parents=True)
    (inventory / "hosts.yml").write_text(
        "all:\n  hosts:\n    one: {ansible_connection: local, ansible_python_interpreter: "
        + sys.executable
        + "}\n    two: {ansible_connection: local, ansible_python_interpreter: "
        + sys.executable
        + "}\n"
    )
    return tmp_path


def test_every_option_is_passed_through(kit: Path) -> None:
    run = PlaybookRun(
        action="deploy",
        inventory=kit / "inventories" / "site",
        check=True,
        diff=True,
        limit="ccdiracli07",
        tags="config",
        skip_tags="restart",
        vault_ids=["cc_in2p3@prompt"],
        extra_vars=["dirac_release=1.2.0"],
        verbosity=2,
    )
    argv, env = build_command(run, kit)
    assert argv[1:] == [
        "-i", str(kit / "inventories" / "site"), "--check", "--diff", "--limit", "ccdiracli07",
        "--tags", "config", "--skip-tags", "restart", "--vault-id", "cc_in2p3@prompt",
        "--extra-vars", "dirac_release=1.2.0", "-vv", str(kit / "playbooks" / "site.yml"),
    ]  # fmt: skip
    assert argv[0].endswith("ansible-playbook")
    assert env["ANSIBLE_CONFIG"] == str(kit / "ansible.cfg")


@pytest.mark.parametrize(("action", "playbook"), [(a, p) for a, (p, _d) in ACTIONS.items()])
def test_each_action_picks_its_playbook(kit: Path, action: str, playbook: str) -> None:
    argv, _env = build_command(PlaybookRun(action, kit / "inventories" / "site", confirmed=True), kit)
    assert argv[-1] == str(kit / "playbooks" / playbook)
    assert "--check" not in argv


@pytest.mark.parametrize("action", [a for a, (_p, destructive) in ACTIONS.items() if destructive])
def test_destructive_actions_need_confirmation_except_in_check_mode(kit: Path, action: str) -> None:
    inventory = kit / "inventories" / "site"
    with pytest.raises(Forbidden, match="--yes-i-really-mean-it"):
        build_command(PlaybookRun(action, inventory), kit)
    build_command(PlaybookRun(action, inventory, check=True), kit)
    build_command(PlaybookRun(action, inventory, confirmed=True), kit)


def test_lab_inventory_gets_its_vault_password_file_unless_one_is_given(kit: Path) -> None:
    inventory = kit / "inventories" / "site"
    (inventory / "vault-password.lab.txt").write_text("lab-only\n")
    argv, _ = build_command(PlaybookRun("deploy", inventory), kit)
    assert argv[argv.index("--vault-id") + 1] == f"lab@{inventory / 'vault-password.lab.txt'}"
    argv, _ = build_command(PlaybookRun("deploy", inventory, vault_password_file="/x"), kit)
    assert "--vault-id" not in argv
    assert argv[argv.index("--vault-password-file") + 1] == "/x"


def test_unknown_inventory_or_missing_playbook_is_one_clear_error(kit: Path) -> None:
    with pytest.raises(BadRequest, match=r"inventory .* not found"):
        build_command(PlaybookRun("deploy", kit / "nowhere"), kit)
    (kit / "playbooks" / "verify.yml").unlink()
    with pytest.raises(BadRequest, match=r"verify\.yml not found"):
        build_command(PlaybookRun("verify", kit / "inventories" / "site"), kit)


def _kit(kit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIRAC_KIT_ROOT": str(kit)}
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_runs_ansible_playbook_with_the_limit(kit: Path) -> None:
    inventory = str(kit / "inventories" / "site")
    proc = _kit(kit, "-i", inventory, "verify", "--limit", "two", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "two" in proc.stdout
    assert "ok: [one]" not in proc.stdout
    assert "--limit two" in proc.stderr  # the command is echoed for the operator


def test_cli_refuses_stop_without_confirmation_and_runs_nothing(kit: Path) -> None:
    proc = _kit(kit, "-i", str(kit / "inventories" / "site"), "stop")
    assert proc.returncode == 2
    assert "stop is destructive" in proc.stderr
    assert "ansible-playbook" not in proc.stderr
