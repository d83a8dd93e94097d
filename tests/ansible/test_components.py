"""playbooks/vars/components.yml (what Ansible places and health-checks) matches the code's registry."""

from __future__ import annotations

from pathlib import Path

import yaml

from dirac_core.services.installed import all_components

CATALOGUE = Path(__file__).resolve().parents[2] / "playbooks" / "vars" / "components.yml"


def test_every_registered_component_is_catalogued_with_its_port_and_databases() -> None:
    catalogue = yaml.safe_load(CATALOGUE.read_text())["dirac_components"]
    for name, component in all_components().items():
        dbs = ", ".join(db for _, db in component.databases)
        line = f"  {name}: {{port: {component.default_port}, databases: [{dbs}]}}"
        assert name in catalogue, f"{name} is not in {CATALOGUE.name}: add the line\n{line}"
        entry = catalogue[name]
        assert entry["port"] == component.default_port, f"{name}: port differs from the code: use\n{line}"
        assert sorted(entry["databases"]) == sorted(d for _, d in component.databases), f"{name}: use\n{line}"
        # dirac_config writes each DB under its component's System: the code must agree.
        assert all(system == component.system for system, _ in component.databases), name
