"""Every vaulted variable the roles read, declared once.

Roles never read ``vault_*`` names directly: ``inventories/common/group_vars/all/shared.yml`` (and the
migration settings) map them onto the roles' variables. A test checks that every ``vault_*`` name in
roles, playbooks, inventories and docs is declared here, so a new secret cannot be forgotten by
``dirac-kit secrets init``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from dirac_kit.vault import inventory_dir

DEFAULT_INSTANCES = ("egi", "fg")
# Shortest value prechecks accept for a DB password.
MIN_LENGTH = 12


@dataclass(frozen=True)
class Secret:
    name: str
    purpose: str


def instances(inventory: Path) -> list[str]:
    """``dirac_instances`` of the inventory (its plain group_vars/all files), else egi and fg."""
    for path in sorted((inventory_dir(inventory) / "group_vars" / "all").glob("*.y*ml")):
        if not path.is_file():  # a dangling link of a copied inventory
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if text.startswith("$ANSIBLE_VAULT"):
            continue
        data = yaml.safe_load(text) or {}
        if isinstance(data, dict) and isinstance(data.get("dirac_instances"), list):
            return [str(name) for name in data["dirac_instances"]]
    return list(DEFAULT_INSTANCES)


def secrets_of(inventory: Path) -> list[Secret]:
    per_instance = [
        Secret(f"vault_dirac_db_password_{name}", f"MariaDB password of the {name} instance's DB user")
        for name in instances(inventory)
    ]
    return [
        *per_instance,
        Secret("vault_dirac_replication_password", "MariaDB replication user (the new site's DB follows the old one)"),
        Secret("vault_dirac_migrator_password", "the migration engine's DB account on the DB servers of both sites"),
    ]
