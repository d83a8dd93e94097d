"""Filters of the dirac_config role: thin shims over dirac_core, which writes and generates the layers.

The CFG writer (`dirac_core.config.tree`), the generated layer content (`dirac_core.contract.instance`)
and the layer file names (`dirac_core.contract.layers`) are the product's: `dirac-core up` uses the
same code. Ansible runs on the controller with the kit's venv, where dirac_core is installed; only
the glue that reads Ansible's hostvars lives here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirac_core.config.tree import tree_to_cfg
from dirac_core.contract.instance import component_databases, host_systems, instance_layer, pick_paths, placement_map
from dirac_core.contract.instance import ports_layer as ports_cfg
from dirac_core.contract.layers import LAYER_FILES, layer_file


def dirac_fqdns(hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """{inventory host: its dirac_fqdn, else the inventory name}."""
    return {host: str(hostvars[host].get("dirac_fqdn") or host) for host in hosts}


def dirac_dn(subject_ordered: list[list[str]], keys: Mapping[str, str]) -> str:
    """community.crypto's subject_ordered -> DIRAC's DN form /O=DIRAC/OU=hosts/CN=h.example.org."""
    return "".join(f"/{keys.get(name, name)}={value}" for name, value in subject_ordered)


def dirac_host_dns(
    hosts: list[str], hostvars: Mapping[str, Mapping[str, Any]], known: Mapping[str, str]
) -> dict[str, str]:
    """DN of each host: what that host learnt in this play, else what this host read by delegation."""
    return {host: str(hostvars[host].get("dirac_config_host_dn") or known[host]) for host in hosts}


def dirac_cfg_parse(text: str) -> dict[str, Any]:
    """CFG text -> nested dict (values stay strings), parsed by DIRAC's own diraccfg on the controller."""
    from diraccfg import CFG

    return CFG().loadFromBuffer(text).getAsDict()  # type: ignore[no-any-return]


def dirac_layer_files(instance: str, setup: str, host: str, data: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The layer files of a host, in merge order: [{file, comment, data}], `data` given in the same order."""
    if len(data) != len(LAYER_FILES):
        raise ValueError(f"dirac_layer_files: give the data of {len(LAYER_FILES)} layers, got {len(data)}")
    return [
        {"file": layer.file(instance), "comment": layer.comment.format(setup=setup, host=host), "data": content}
        for layer, content in zip(LAYER_FILES, data, strict=True)
    ]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "to_dirac_cfg": tree_to_cfg,
            "dirac_instance_cfg": instance_layer,
            "dirac_fqdns": dirac_fqdns,
            "dirac_placement_map": placement_map,
            "dirac_cfg_parse": dirac_cfg_parse,
            "dirac_cfg_pick": pick_paths,
            "dirac_dn": dirac_dn,
            "dirac_host_dns": dirac_host_dns,
            "dirac_component_databases": component_databases,
            "dirac_ports_cfg": ports_cfg,
            "dirac_host_systems_cfg": host_systems,
            "dirac_layer_files": dirac_layer_files,
            "dirac_layer_file": layer_file,
        }
