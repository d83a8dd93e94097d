"""Every component dirac_core can run, by ``System/Service`` name."""

from __future__ import annotations

from dirac_core.errors import NotFound
from dirac_core.server.component import Component


def all_components() -> dict[str, Component]:
    # Imported lazily so `dirac-core --help` stays fast and a broken subsystem names itself.
    from dirac_core.services import accounting, workload_management
    from dirac_core.services.configuration import COMPONENT as CONFIGURATION_SERVER
    from dirac_core.services.data_management import components as data_management_components
    from dirac_core.services.framework_auth import AUTH

    components: list[Component] = [AUTH, CONFIGURATION_SERVER, *workload_management.components()]
    components += accounting.components()
    components += data_management_components()
    return {component.name: component for component in components}


def get_component(name: str) -> Component:
    components = all_components()
    if name not in components:
        known = ", ".join(sorted(components)) or "none"
        raise NotFound(f"unknown component {name!r}: known components are {known}")
    return components[name]
