"""Filters of the dirac_config role: DIRAC CFG text from nested dicts, and the generated instance layer.

Kept in Python rather than Jinja: CFG forbids opening a section twice in a file, so generated and
operator-given content are merged as dicts first, then written once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INDENT = "  "


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_value(item) for item in value)
    return str(value)


def _lines(data: Mapping[str, Any], depth: int) -> list[str]:
    pad = INDENT * depth
    out: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            out += [f"{pad}{key}", f"{pad}{{", *_lines(value, depth + 1), f"{pad}}}"]
        elif value is not None:
            text = _value(value)
            if "\n" in text:
                raise ValueError(f"CFG option {key!r} has a multi-line value: CFG values are single lines")
            out.append(f"{pad}{key} = {text}")
    return out


def to_dirac_cfg(data: Mapping[str, Any]) -> str:
    """{"DIRAC": {"Setup": "X"}} -> 'DIRAC\\n{\\n  Setup = X\\n}\\n' (lists joined by ', ', bools yes/no)."""
    return "\n".join(_lines(data, 0)) + "\n"


def _systems(components: Mapping[str, Any], ctx: Mapping[str, Any]) -> set[str]:
    return {name.partition("/")[0] for name in components} | set(ctx.get("shared_systems", []))


def dirac_instance_cfg(ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The generated part of an instance layer, from the placement.

    ctx keys: placement {host: [System/Service]}, components {name: {port, databases}}, fqdns {host: fqdn},
    setup, system_instance, cs_master (host), refresh_time, db {host, port, prefix, user},
    host_dns {host: DN}, host_properties [..].
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
            urls.setdefault(system, {}).setdefault(service, []).append(f"https://{fqdns[host]}:{port}/{name}")
            for db_name in components[name].get("databases", []):
                if db_name not in databases.setdefault(system, []):
                    databases[system].append(db_name)

    cs_servers = urls.get("Configuration", {}).get("Server", [])
    master_url = f"https://{fqdns[ctx['cs_master']]}:{components['Configuration/Server']['port']}/Configuration/Server"
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
            "Setups": {ctx["setup"]: {system: inst for system in sorted(_systems(components, ctx))}},
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


def dirac_placement_map(entries: list[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Placement entries [{instance, component, host, master}] -> {host: [components]}, in order."""
    placement: dict[str, list[str]] = {}
    for entry in entries:
        placement.setdefault(str(entry["host"]), []).append(str(entry["component"]))
    return placement


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


def dirac_component_databases(name: str, components: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """ "WorkloadManagement/Matcher" -> ["WorkloadManagement/JobDB", ...]: DBs live under their System."""
    system = name.partition("/")[0]
    return [f"{system}/{db}" for db in components[name].get("databases", [])]


def dirac_ports_cfg(components: Mapping[str, Mapping[str, Any]], system_instance: str) -> dict[str, Any]:
    """/Systems/<System>/<Instance>/Services/<Service>/Port of every catalogued component."""
    systems: dict[str, Any] = {}
    for name in sorted(components):
        system, _, service = name.partition("/")
        services = systems.setdefault(system, {system_instance: {"Services": {}}})[system_instance]["Services"]
        services[service] = {"Port": components[name]["port"]}
    return systems


def dirac_host_systems_cfg(ctx: Mapping[str, Any]) -> dict[str, Any]:
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


def dirac_cfg_parse(text: str) -> dict[str, Any]:
    """CFG text -> nested dict (values stay strings), parsed by DIRAC's own diraccfg on the controller."""
    from diraccfg import CFG

    return CFG().loadFromBuffer(text).getAsDict()  # type: ignore[no-any-return]


def dirac_cfg_pick(data: Mapping[str, Any], paths: list[str]) -> dict[str, Any]:
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


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "to_dirac_cfg": to_dirac_cfg,
            "dirac_instance_cfg": dirac_instance_cfg,
            "dirac_fqdns": dirac_fqdns,
            "dirac_placement_map": dirac_placement_map,
            "dirac_cfg_parse": dirac_cfg_parse,
            "dirac_cfg_pick": dirac_cfg_pick,
            "dirac_dn": dirac_dn,
            "dirac_host_dns": dirac_host_dns,
            "dirac_component_databases": dirac_component_databases,
            "dirac_ports_cfg": dirac_ports_cfg,
            "dirac_host_systems_cfg": dirac_host_systems_cfg,
        }
