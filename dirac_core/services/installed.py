"""Every component dirac_core can run, by ``System/Service`` name: the ``dirac_core.components`` entry points.

Each entry point (pyproject.toml ``[project.entry-points."dirac_core.components"]``) is named after a
DIRAC System and points at a `Component` or at a callable returning that System's components. A
package that brings more components declares its own entry points; nothing here lists them.
"""

from __future__ import annotations

from collections.abc import Iterable

from dirac_core.errors import ConfigError, NotFound
from dirac_core.plugins import COMPONENTS_GROUP, load_group
from dirac_core.services.component import Component


def _components_of(system: str, declared: object) -> list[Component]:
    found = declared() if callable(declared) and not isinstance(declared, Component) else declared
    items: list[object] = (
        [found] if isinstance(found, Component) else list(found) if isinstance(found, Iterable) else [found]
    )
    components: list[Component] = []
    for item in items:
        if not isinstance(item, Component):
            raise ConfigError(f"entry point {system} of {COMPONENTS_GROUP} gives {item!r}, not a Component")
        if item.system != system:
            raise ConfigError(f"entry point {system} of {COMPONENTS_GROUP} declares {item.name}: name it {item.system}")
        components.append(item)
    return components


def all_components() -> dict[str, Component]:
    components: dict[str, Component] = {}
    for system, declared in load_group(COMPONENTS_GROUP).items():
        for component in _components_of(system, declared):
            components[component.name] = component
    return components


def get_component(name: str) -> Component:
    components = all_components()
    if name not in components:
        known = ", ".join(sorted(components)) or "none"
        raise NotFound(f"unknown component {name!r}: known components are {known}")
    return components[name]
