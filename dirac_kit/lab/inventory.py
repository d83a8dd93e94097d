"""The hosts of a YAML inventory and their groups, read without running Ansible (fast, no vault)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from dirac_core.errors import BadRequest

# `lab up --site old|new|all`: the site groups of the inventories.
SITES = {"old": "cyfronet", "new": "cc_in2p3"}


def _collect(
    group: str, body: dict[str, Any] | None, hosts: dict[str, list[str]], children: dict[str, set[str]]
) -> None:
    body = body or {}
    hosts.setdefault(group, []).extend(str(h) for h in body.get("hosts") or {})
    for child, child_body in (body.get("children") or {}).items():
        children.setdefault(group, set()).add(str(child))
        _collect(str(child), child_body, hosts, children)


def host_groups(inventory: Path) -> dict[str, set[str]]:
    """``{host: {groups...}}`` from ``hosts.yml`` (a directory) or the given YAML file, in host order.

    A group listed as a child with an empty body (``diracservers: {children: {egi:}}``) gets the
    hosts given to that group elsewhere, as in Ansible.
    """
    path = inventory / "hosts.yml" if inventory.is_dir() else inventory
    if not path.exists():
        raise BadRequest(f"no inventory at {path}: pass a directory with hosts.yml or a YAML inventory file")
    data = yaml.safe_load(path.read_text()) or {}
    hosts: dict[str, list[str]] = {}
    children: dict[str, set[str]] = {}
    for group, body in data.items():
        _collect(str(group), body, hosts, children)

    def members(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found = set(hosts.get(group, []))
        for child in children.get(group, set()) - seen:
            found |= members(child, seen | {group})
        return found

    out: dict[str, set[str]] = {host: set() for group_hosts in hosts.values() for host in group_hosts}
    for group in set(hosts) | set(children):
        for host in members(group):
            out[host].add(group)
    return out


def site_hosts(inventory: Path, site: str) -> list[str]:
    """Hosts of ``site`` (old, new or all), in inventory order."""
    groups = host_groups(inventory)
    if site == "all":
        return list(groups)
    if site not in SITES:
        raise BadRequest(f"unknown site {site!r}: use one of old, new, all")
    return [host for host, member_of in groups.items() if SITES[site] in member_of]
