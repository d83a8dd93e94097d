"""The hosts of a YAML inventory and their groups, read without running Ansible (fast, no vault)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dirac_core.errors import BadRequest

# `lab up --site old|new|all`: the site groups of the inventories.
SITES = {"old": "cyfronet", "new": "cc_in2p3"}


def _walk(group: str, body: dict[str, Any] | None, parents: list[str], out: dict[str, set[str]]) -> None:
    body = body or {}
    chain = [*parents, group]
    for host in body.get("hosts") or {}:
        out.setdefault(str(host), set()).update(chain)
    for child, child_body in (body.get("children") or {}).items():
        _walk(str(child), child_body, chain, out)


def host_groups(inventory: Path) -> dict[str, set[str]]:
    """``{host: {groups...}}`` from ``hosts.yml`` (a directory) or the given YAML file."""
    path = inventory / "hosts.yml" if inventory.is_dir() else inventory
    if not path.exists():
        raise BadRequest(f"no inventory at {path}: pass a directory with hosts.yml or a YAML inventory file")
    data = yaml.safe_load(path.read_text()) or {}
    out: dict[str, set[str]] = {}
    for group, body in data.items():
        _walk(str(group), body, [], out)
    return out


def site_hosts(inventory: Path, site: str) -> list[str]:
    """Hosts of ``site`` (old, new or all), in inventory order."""
    groups = host_groups(inventory)
    if site == "all":
        return list(groups)
    if site not in SITES:
        raise BadRequest(f"unknown site {site!r}: use one of old, new, all")
    return [host for host, member_of in groups.items() if SITES[site] in member_of]
