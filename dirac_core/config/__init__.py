"""DIRAC CFG files in every process: loading, layering, validation and the paths services look up.

A core library; the Configuration Service that serves the CS to others is `dirac_core.cs`.
"""

from dirac_core.config.cfg import Config
from dirac_core.config.paths import component_section, database_section, system_section

__all__ = ["Config", "component_section", "database_section", "system_section"]
