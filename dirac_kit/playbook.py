"""Map a `dirac-kit -i INVENTORY <action>` call to one ansible-playbook command (kolla-ansible style).

Kept free of click and subprocess so the mapping is unit-tested as data.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dirac_core.errors import BadRequest
from dirac_kit import confirm, environment, vault
from dirac_kit.lab.paths import LabPaths

# action -> (playbook, destructive). Destructive actions stop services or move data: they need the
# confirmation (dirac_kit.confirm), except in --check mode (a dry run changes nothing).
ACTIONS: dict[str, tuple[str, bool]] = {
    "deploy": ("site.yml", False),
    "prechecks": ("prechecks.yml", False),
    "verify": ("verify.yml", False),
    "start": ("start.yml", False),
    "stop": ("stop.yml", True),
    "migrate-stage1": ("migrate-stage1.yml", True),
    "migrate-stage2": ("migrate-stage2.yml", True),
    "rollback": ("rollback.yml", True),
}
CONFIRM_FLAG = confirm.CONFIRM_FLAG


@dataclass
class PlaybookRun:
    """What the operator asked for; field names follow ansible-playbook's options."""

    action: str
    inventory: Path
    check: bool = False
    diff: bool = False
    limit: str | None = None
    tags: str | None = None
    skip_tags: str | None = None
    vault_ids: list[str] = field(default_factory=list)
    vault_password_file: str | None = None
    extra_vars: list[str] = field(default_factory=list)
    verbosity: int = 0
    confirmed: bool = False
    # Site states (dirac_kit.site_state) the operator acts against on purpose, by name.
    override_site_state: list[str] = field(default_factory=list)


def ansible_playbook() -> str:
    """The ansible-playbook to run: the one of the venv running dirac-kit, else the one on PATH."""
    candidate = Path(sys.executable).parent / "ansible-playbook"
    return str(candidate) if candidate.exists() else "ansible-playbook"


def ansible_environment(root: Path) -> dict[str, str]:
    """The environment of a runbook step's ansible-playbook: the kit's (dirac_kit.environment) for
    the checkout `root`, on top of what the runbook command already exported."""
    return environment.base(os.environ, LabPaths(root, LabPaths.default().name))


def build_command(run: PlaybookRun, root: Path) -> tuple[list[str], dict[str, str]]:
    """The argv and environment of ansible-playbook for ``run``; ``root`` is the kit checkout."""
    if run.action not in ACTIONS:
        raise BadRequest(f"unknown action {run.action!r}: use one of {', '.join(ACTIONS)}")
    playbook_name, destructive = ACTIONS[run.action]
    if destructive:
        confirm.require(run.action, "it stops services or moves data", run.confirmed or run.check)
    if not run.inventory.exists():
        raise BadRequest(f"inventory {run.inventory} not found: pass -i inventories/<site> (lab, cc-in2p3, cyfronet)")
    playbook = root / "playbooks" / playbook_name
    if not playbook.exists():
        raise BadRequest(f"{playbook} not found: this checkout has no playbook for {run.action!r}")
    argv = [ansible_playbook(), "-i", str(run.inventory)]
    argv += ["--check"] * run.check + ["--diff"] * run.diff
    for option, value in (("--limit", run.limit), ("--tags", run.tags), ("--skip-tags", run.skip_tags)):
        if value:
            argv += [option, value]
    vault_ids = list(run.vault_ids)
    lab_vault = vault.lab_vault_file(run.inventory)
    if not vault_ids and not run.vault_password_file and lab_vault is not None:
        vault_ids = [f"lab@{lab_vault}"]
    vault.require_password([run.inventory], vault_ids, run.vault_password_file)
    for vault_id in vault_ids:
        argv += ["--vault-id", vault_id]
    if run.vault_password_file:
        argv += ["--vault-password-file", run.vault_password_file]
    if destructive and run.confirmed and not run.check:
        argv += ["--extra-vars", confirm.ANSIBLE_CONFIRM]  # the engine's steps take the same confirmation
    if run.override_site_state:
        # The hosts' own guard (roles/dirac_migration site_state_guard) takes the same names.
        argv += ["--extra-vars", f"dirac_migration_site_state_override={','.join(run.override_site_state)}"]
    for extra in run.extra_vars:
        argv += ["--extra-vars", extra]
    if run.verbosity:
        argv.append("-" + "v" * min(run.verbosity, 6))
    argv.append(str(playbook))
    lab = LabPaths(root, LabPaths.default().name)
    env = environment.with_run_state(environment.base(os.environ, lab), [run.inventory], lab)
    return argv, env
