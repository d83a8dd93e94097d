"""The generated content of a deployed instance's CFG layers (the dirac_config role writes them).

Inputs are plain dicts as Ansible holds them: the placement {host: [System/Service]}, the component
catalogue {name: {port, databases}} (`dirac_core.contract.ansible.ansible_catalogue`), FQDNs, DNs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def service_url(host: str, port: int | str, name: str) -> str:
    """How a service is named in /Systems/<System>/<Instance>/URLs and /DIRAC/Configuration."""
    return f"https://{host}:{port}/{name}"


def setups_section(systems: set[str], system_instance: str) -> dict[str, str]:
    """/DIRAC/Setups/<Setup>: every System of the instance runs instance `system_instance`."""
    return {system: system_instance for system in sorted(systems)}


def _systems(components: Mapping[str, Any], ctx: Mapping[str, Any]) -> set[str]:
    return {name.partition("/")[0] for name in components} | set(ctx.get("shared_systems", []))


def instance_layer(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The generated part of an instance layer, from the placement.

    ctx keys: placement {host: [System/Service]}, components {name: {port, databases}}, fqdns {host: fqdn},
    setup, system_instance, cs_master (host), refresh_time, db {host, port, prefix, user},
    host_dns {host: DN}, host_properties [..], shared_systems [..].
    """
    placement: Mapping[str, list[str]] = ctx["placement"]
    components: Mapping[str, Mapping[str, Any]] = ctx["components"]
    fqdns: Mapping[str, str] = ctx["fqdns"]
    inst: str = ctx["system_instance"]

    urls: dict[str, dict[str, list[str]]] = {}
    databases: dict[str, list[str]] = {}
    for host, placed in placement.items():
        for name in placed:
            system, _, service = name.partition("/")
            port = components[name]["port"]
            urls.setdefault(system, {}).setdefault(service, []).append(service_url(fqdns[host], port, name))
            for db_name in components[name].get("databases", []):
                if db_name not in databases.setdefault(system, []):
                    databases[system].append(db_name)

    cs_servers = urls.get("Configuration", {}).get("Server", [])
    cs_name = "Configuration/Server"
    master_url = service_url(fqdns[ctx["cs_master"]], components[cs_name]["port"], cs_name)
    systems: dict[str, Any] = {}
    for system in sorted(set(urls) | set(databases)):
        section: dict[str, Any] = {}
        if system in urls:
            section["URLs"] = {service: found for service, found in sorted(urls[system].items())}
        if databases.get(system):
            db = ctx["db"]
            section["Databases"] = {
                db_name: {
                    "Host": db["host"],
                    "Port": db["port"],
                    "DBName": f"{db['prefix']}{db_name}",
                    "User": db["user"],
                }
                for db_name in databases[system]
            }
        systems[system] = {inst: section}

    return {
        "DIRAC": {
            "Setup": ctx["setup"],
            # Every System of the catalogue and of the shared layer: each needs an instance in the Setup.
            "Setups": {ctx["setup"]: setups_section(_systems(components, ctx), inst)},
            "Configuration": {
                "Name": ctx["setup"],
                "Servers": cs_servers,
                "MasterServer": master_url,
                "RefreshTime": ctx["refresh_time"],
            },
        },
        "Registry": {
            "Hosts": {
                fqdns[host]: {"DN": ctx["host_dns"][host], "Properties": ctx["host_properties"]} for host in placement
            }
        },
        "Systems": systems,
    }


def placement_map(entries: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Placement entries [{instance, component, host, master}] -> {host: [components]}, in order."""
    placement: dict[str, list[str]] = {}
    for entry in entries:
        placement.setdefault(str(entry["host"]), []).append(str(entry["component"]))
    return placement


def component_databases(name: str, components: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """ "WorkloadManagement/Matcher" -> ["WorkloadManagement/JobDB", ...]: DBs live under their System."""
    system = name.partition("/")[0]
    return [f"{system}/{db}" for db in components[name].get("databases", [])]


def ports_layer(components: Mapping[str, Mapping[str, Any]], system_instance: str) -> dict[str, Any]:
    """/Systems/<System>/<Instance>/Services/<Service>/Port of every catalogued component."""
    systems: dict[str, Any] = {}
    for name in sorted(components):
        system, _, service = name.partition("/")
        services = systems.setdefault(system, {system_instance: {"Services": {}}})[system_instance]["Services"]
        services[service] = {"Port": components[name]["port"]}
    return systems


def host_systems(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """Host-local /Systems: DataDir of the components placed here, PasswordFile of every instance DB."""
    inst = ctx["system_instance"]
    systems: dict[str, Any] = {}

    def section(system: str) -> dict[str, Any]:
        return systems.setdefault(system, {inst: {}})[inst]  # type: ignore[no-any-return]

    for name in ctx["here"]:
        if name in ctx["data_dirs"]:
            system, _, service = name.partition("/")
            data_dir = f"{ctx['root']}/{ctx['data_dirs'][name]}"
            section(system).setdefault("Services", {})[service] = {"DataDir": data_dir}
    for entry in ctx["databases"]:
        system, _, db_name = entry.partition("/")
        section(system).setdefault("Databases", {})[db_name] = {"PasswordFile": ctx["password_file"]}
    return systems


def pick_paths(data: Mapping[str, Any], paths: list[str]) -> dict[str, Any]:
    """Only the given /-separated paths of a nested dict (missing ones are skipped)."""
    picked: dict[str, Any] = {}
    for path in paths:
        parts = [part for part in path.strip("/").split("/") if part]
        node: Any = data
        for part in parts:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None or not parts:
            continue
        target = picked
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = node
    return picked
