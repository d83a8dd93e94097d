"""Facts a runbook is rendered with: the real inventory (through `ansible-inventory`) and the plan."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from dirac_core.errors import BadRequest, ConfigError
from dirac_kit import vault

# Groups every migration inventory must define; the runbook names hosts through them.
REQUIRED_GROUPS = ("egi", "fg")


def lab_vault_file(inventories: Sequence[Path]) -> Path | None:
    """A lab inventory carries its own (not secret) vault password file; production ones never do."""
    for inventory in inventories:
        directory = inventory if inventory.is_dir() else inventory.parent
        for name in ("vault-password.lab.txt", "vault-password.lab"):
            if (directory / name).is_file():
                return directory / name
    return None


def read_inventory(inventories: Sequence[Path], vault_password_file: Path | None = None) -> dict[str, Any]:
    """Groups and host variables as Ansible sees them (group_vars and host_vars merged)."""
    for inventory in inventories:
        if not inventory.exists():
            raise BadRequest(f"inventory {inventory} not found: pass -i with an inventory directory or file")
    # Prefer the ansible of the venv this code runs from, even when that venv is not on PATH.
    beside = Path(sys.executable).parent / "ansible-inventory"
    binary = str(beside) if beside.is_file() else shutil.which("ansible-inventory")
    if binary is None:
        raise ConfigError("ansible-inventory not found: install the kit extra (pip install 'dirac-core[kit]')")
    command = [binary, "--list"]
    for inventory in inventories:
        command += ["-i", str(inventory)]
    vault_password_file = vault_password_file or lab_vault_file(inventories)
    if vault_password_file is not None:
        command += ["--vault-password-file", str(vault_password_file)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadRequest(f"ansible-inventory could not read {', '.join(map(str, inventories))}: {last}")
    data: dict[str, Any] = json.loads(result.stdout)
    hostvars: dict[str, Any] = data.get("_meta", {}).get("hostvars", {})
    groups = {name: _hosts_below(data, name) for name in data if name != "_meta"}
    return {"groups": groups, "hostvars": hostvars}


def _hosts_below(data: dict[str, Any], group: str) -> list[str]:
    node = data.get(group, {})
    hosts = list(node.get("hosts", []))
    for child in node.get("children", []):
        hosts += [h for h in _hosts_below(data, child) if h not in hosts]
    return hosts


def vault_args(inventories: Sequence[Path], vault_password_file: Path | None = None) -> list[str]:
    """The vault options a pasted ``ansible-playbook`` needs: the operator's password file, else per
    inventory its lab password file or a prompt for its vault id (none for an unencrypted one)."""
    if vault_password_file is not None:
        return ["--vault-password-file", str(vault_password_file)]
    args: list[str] = []
    for inventory in inventories:
        if (lab_file := vault.lab_vault_file(inventory)) is not None:
            args += ["--vault-id", f"lab@{lab_file}"]
        elif vault.encrypted_files(inventory):
            args += ["--vault-id", f"{vault.vault_id(inventory)}@prompt"]
    return args


def runbook_args(
    inventories: Sequence[Path],
    plan: Path | None = None,
    vault_password_file: Path | None = None,
    state_dir: Path | None = None,
) -> list[str]:
    """The options of a ``dirac-kit runbook run|status BOOK`` that works on the same run as this one."""
    args = [arg for inv in inventories for arg in ("-i", str(inv))]
    for option, value in (("--plan", plan), ("--vault-password-file", vault_password_file), ("--state-dir", state_dir)):
        if value is not None:
            args += [option, str(value)]
    return args


def build_context(
    inventories: Sequence[Path],
    plan: Path | None = None,
    vault_password_file: Path | None = None,
    state_dir: Path | None = None,
) -> dict[str, Any]:
    """What a book is rendered with. Besides the inventory's groups and host variables, the option
    strings its printed commands use, so that each runs as printed from the checkout's root:
    ``ansible_args`` (``-i INV --vault-id …`` of an ``ansible-playbook``) and ``runbook_args``
    (``-i INV [--plan …]`` of a ``dirac-kit runbook`` command), ``kit_args`` (of ``dirac-kit ops``)."""
    inventory = read_inventory(inventories, vault_password_file)
    missing = [g for g in REQUIRED_GROUPS if not inventory["groups"].get(g)]
    if missing:
        raise BadRequest(f"inventory has no hosts in group(s) {', '.join(missing)}: add the instance groups egi and fg")
    inventory_args = [arg for inv in inventories for arg in ("-i", str(inv))]
    context: dict[str, Any] = {
        "inventory_args": inventory_args,
        "vault_args": vault_args(inventories, vault_password_file),
        "ansible_args": shlex.join(inventory_args + vault_args(inventories, vault_password_file)),
        "runbook_args": shlex.join(runbook_args(inventories, plan, vault_password_file, state_dir)),
        "kit_args": shlex.join(runbook_args(inventories, None, vault_password_file)),  # dirac-kit ops
        "inventories": [str(inv) for inv in inventories],
        **inventory,
        "plan_path": str(plan) if plan else "",
        "plan": {},
    }
    if plan is not None:
        if not plan.is_file():
            raise BadRequest(f"migration plan {plan} not found: pass --plan with the plan YAML")
        context["plan"] = yaml.safe_load(plan.read_text()) or {}
    return context
