"""DIRAC CFG configuration: loading, layering and the paths services look up."""

from dirac_core.config.cfg import Config
from dirac_core.config.paths import component_section, database_section, system_section

__all__ = ["Config", "component_section", "database_section", "system_section"]
