"""Ansible's view of the contract: `dirac_components` and `dirac_layer_files` (playbooks/vars/components.yml).

The file is generated (``python -m dirac_core.contract --write``) rather than looked up at run time:
playbooks, molecule scenarios and inventories read it with plain ``vars_files``, and a test fails when
it differs from what the declaration gives.
"""

from __future__ import annotations

from typing import Any

from dirac_core.contract.components import declared_components
from dirac_core.contract.layers import LAYER_FILES

VARS_FILE = "playbooks/vars/components.yml"

_HEADER = """\
---
# GENERATED from dirac_core/contract (python -m dirac_core.contract --write); do not edit by hand.
# The catalogue of DIRAC components dirac_core can run: DIRAC's default port, the databases
# (DBNames under the component's System) each one opens, and whether an instance places it once
# (singleton) or on several hosts, once per host. Roles read it as `dirac_components`; placements
# name its keys. `dirac_layer_files` are the CFG layer files of a service host, in merge order.
"""


def ansible_catalogue() -> dict[str, dict[str, Any]]:
    """{"WorkloadManagement/Matcher": {"port": 9170, "databases": [...], "singleton": True}, ...}."""
    return {
        name: {"port": spec.port, "databases": list(spec.databases), "singleton": spec.singleton}
        for name, spec in declared_components().items()
    }


def components_vars_text() -> str:
    lines = [_HEADER.rstrip("\n"), "dirac_components:"]
    for name, entry in ansible_catalogue().items():
        lines.append(
            f"  {name}: {{port: {entry['port']}, singleton: {str(entry['singleton']).lower()},"
            f" databases: [{', '.join(entry['databases'])}]}}"
        )
    lines.append("dirac_layer_files:")
    lines += [f"  {layer.role}: {layer.pattern!r}".replace("'", '"') for layer in LAYER_FILES]
    return "\n".join(lines) + "\n"
