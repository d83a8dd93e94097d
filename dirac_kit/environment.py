"""The environment every `dirac-kit` command runs Ansible in, set up in this one place.

An operator types the documented command and nothing more: the kit's ansible.cfg and roles, the
interpreter's tools, the lab name, the inventory's vault password (the lab's committed file) and
the run's state directory (dirac_kit.state) are derived here and exported before any Ansible
process starts. Runbook steps, the ansible-playbook of an action and the playbooks those start
(a nested run works in a temporary directory, where no ansible.cfg is found) all inherit it, so
demos and tests need no exports of their own.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

from dirac_kit.lab.paths import LabPaths
from dirac_kit.state import RunPaths
from dirac_kit.vault import VAULT_ENV, lab_vault_file

# ansible-core imports cryptography's DSA classes for its ssh-agent client
# (ansible/_internal/_ssh/_ssh_agent.py); cryptography deprecates DSA and warns on every start of
# every Ansible tool. Only that warning is filtered, in this process and in its children.
DSA_WARNING = "DSA is deprecated"
_PYTHONWARNINGS_FILTER = f"ignore:{DSA_WARNING}"


def silence_dsa_warning() -> None:
    warnings.filterwarnings("ignore", message=DSA_WARNING)


def base(environ: Mapping[str, str], lab: LabPaths) -> dict[str, str]:
    """What every command needs whatever the inventory: ansible.cfg, roles, tools, lab name."""
    env = dict(environ)
    config = lab.root / "ansible.cfg"
    if config.is_file():
        # Settings hold from any working directory (kolla-ansible does the same).
        env["ANSIBLE_CONFIG"] = str(config)
    roles = lab.root / "roles"
    if roles.is_dir():
        env["ANSIBLE_ROLES_PATH"] = str(roles)
    env["DIRAC_LAB_NAME"] = lab.name
    tools = str(Path(sys.executable).parent)  # ansible-playbook of the kit's own venv, even if not on PATH
    path = env.get("PATH", "")
    if tools not in path.split(os.pathsep):
        env["PATH"] = os.pathsep.join(p for p in (tools, path) if p)
    filters = [f for f in env.get("PYTHONWARNINGS", "").split(",") if f]
    if _PYTHONWARNINGS_FILTER not in filters:
        env["PYTHONWARNINGS"] = ",".join([*filters, _PYTHONWARNINGS_FILTER])
    return env


def with_run_state(env: Mapping[str, str], inventories: Sequence[Path], lab: LabPaths) -> dict[str, str]:
    """``env`` plus the run's state directory of the inventories (markers and reports of the playbooks)."""
    out = dict(env)
    run = RunPaths.of(inventories, lab)
    # An explicit export still wins (the roles document both as overrides).
    out.setdefault("DIRAC_MIGRATION_MARKER_ROOT", str(run.markers))
    out.setdefault("DIRAC_MIGRATION_REPORT_ROOT", str(run.reports))
    return out


def with_vault(
    env: Mapping[str, str],
    inventories: Sequence[Path],
    vault_ids: Sequence[str] = (),
    vault_password_file: str | Path | None = None,
) -> dict[str, str]:
    """``env`` plus the vault password for Ansible: the operator's, else a lab inventory's own file."""
    out = dict(env)
    if vault_password_file:
        out["ANSIBLE_VAULT_PASSWORD_FILE"] = str(Path(vault_password_file).resolve())
    elif vault_ids:
        out["ANSIBLE_VAULT_IDENTITY_LIST"] = ",".join(vault_ids)
    elif not any(out.get(name) for name in VAULT_ENV):
        for inventory in inventories:
            if (lab_file := lab_vault_file(inventory)) is not None:
                out["ANSIBLE_VAULT_IDENTITY_LIST"] = f"lab@{lab_file.resolve()}"
                break
    return out


def prepare(
    inventories: Sequence[Path] = (), vault_ids: Sequence[str] = (), vault_password_file: str | Path | None = None
) -> dict[str, str]:
    """Export the kit's environment into this process (its children inherit it); returns it."""
    silence_dsa_warning()
    lab = LabPaths.default()
    env = base(os.environ, lab)
    if inventories:
        env = with_vault(with_run_state(env, inventories, lab), inventories, vault_ids, vault_password_file)
    os.environ.update(env)
    return env
