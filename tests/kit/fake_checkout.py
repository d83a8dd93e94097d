"""Pieces of a fake kit checkout that kit tests run `dirac-kit` against, on this machine alone."""

from __future__ import annotations

import sys
from pathlib import Path


def write_local_lab_inventory(root: Path) -> Path:
    """inventories/lab of two local hosts (egi1, fg1: connection local) with the lab's vault password."""
    inventory = root / "inventories" / "lab"
    inventory.mkdir(parents=True)
    (inventory / "vault-password.lab.txt").write_text("lab-only\n")
    local = f"{{ansible_connection: local, ansible_python_interpreter: {sys.executable}}}"
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n"
        f"    egi:\n      hosts:\n        egi1: {local}\n    fg:\n      hosts:\n        fg1: {local}\n"
    )
    return inventory
