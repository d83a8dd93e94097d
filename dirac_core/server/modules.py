"""Several instances of one component (DIRAC's ``Module`` option).

``/Systems/DataManagement/<Instance>/Services/EiscatFileCatalog/Module = FileCatalog`` makes
``dirac-core serve DataManagement/EiscatFileCatalog`` run the FileCatalog code under the name
EiscatFileCatalog: its own CS section, URL path, port and, with ``Database = EiscatFileCatalogDB``,
its own database (for components that use exactly one database).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from dirac_core.config.cfg import Config
from dirac_core.config.paths import component_section
from dirac_core.errors import ConfigError, NotFound
from dirac_core.services.component import Component


def instance_of(base: Component, name: str, database: str | None = None) -> Component:
    """`base` running as `name` (``System/Service``), optionally on DBName `database`."""
    databases = base.databases
    if database:
        if len(databases) != 1:
            raise ConfigError(
                f"{name}: Database is only for components with one database; {base.name} has {len(databases)}"
            )
        databases = ((databases[0][0], database),)
    return dataclasses.replace(
        base,
        name=name,
        databases=databases,
        description=f"{base.description} (instance {name.partition('/')[2]} of {base.service})",
    )


def configured_instance(name: str, config: Config, components: Mapping[str, Component]) -> Component | None:
    """The component `name` runs as according to ``<its section>/Module``; None if it is not an instance."""
    if name in components or "/" not in name:
        return None
    try:
        section = component_section(config, name)
    except ConfigError:
        return None
    module = config.get(f"{section}/Module", None)
    if not module:
        return None
    system = name.partition("/")[0]
    base_name = module if "/" in module else f"{system}/{module}"
    base = components.get(base_name)
    if base is None:
        known = ", ".join(sorted(c for c in components if c.startswith(f"{system}/"))) or "none"
        raise NotFound(f"{section}/Module = {module}: no component {base_name}; known in {system}: {known}")
    return instance_of(base, name, config.get(f"{section}/Database", None))
