"""Where DIRAC keeps things in the CS: Setups map each System to an instance name.

``/DIRAC/Setup = EGI-Production`` and ``/DIRAC/Setups/EGI-Production/WorkloadManagement = Production``
mean the JobManager options live in ``/Systems/WorkloadManagement/Production/Services/JobManager``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dirac_core.errors import ConfigError

if TYPE_CHECKING:
    from dirac_core.config.cfg import Config


def setup_name(config: Config) -> str:
    return config.get("/DIRAC/Setup")


def system_instance(config: Config, system: str) -> str:
    setup = setup_name(config)
    instance = config.get(f"/DIRAC/Setups/{setup}/{system}", None)
    if instance is None:
        raise ConfigError(f"/DIRAC/Setups/{setup}/{system} is not set: name the {system} instance of setup {setup}")
    return instance


def system_section(config: Config, system: str) -> str:
    return f"/Systems/{system}/{system_instance(config, system)}"


def component_section(config: Config, component: str, kind: str = "Services") -> str:
    """`component` is ``System/Name``, e.g. ``WorkloadManagement/JobManager``."""
    system, _, name = component.partition("/")
    if not name:
        raise ConfigError(f"component {component!r} must be written System/Name, e.g. WorkloadManagement/JobManager")
    return f"{system_section(config, system)}/{kind}/{name}"


def database_section(config: Config, system: str, db_name: str) -> str:
    return f"{system_section(config, system)}/Databases/{db_name}"
