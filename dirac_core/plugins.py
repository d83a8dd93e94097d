"""Code found by name: the entry-point groups of installed packages and ``module:attribute`` references.

dirac_core registers its components and databases as entry points in pyproject.toml
(``[project.entry-points."dirac_core.components"]`` and ``."dirac_core.databases"``), as DiracX does:
an extension package adds its own under the same groups, with no list to edit here. The CS names
other plugs as ``module:attribute`` (e.g. a catalog's ``OperationRecorder``). Both are imported only
when asked for, so ``dirac-core --help`` stays fast and a broken plug names itself.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from dirac_core.errors import NotFound

COMPONENTS_GROUP = "dirac_core.components"
DATABASES_GROUP = "dirac_core.databases"


def import_object(ref: str) -> Any:
    """``package.module:ATTRIBUTE`` -> the object."""
    module_name, _, attribute = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as exc:
        raise NotFound(f"cannot load {ref!r}: {exc}: check PYTHONPATH and the module:attribute name") from exc


def load_group(group: str) -> dict[str, Any]:
    """Entry-point name -> loaded object for every installed entry point of `group`."""
    found: dict[str, Any] = {}
    for entry in entry_points(group=group):
        try:
            found[entry.name] = entry.load()
        except (ImportError, AttributeError) as exc:
            raise NotFound(
                f"entry point {entry.name} = {entry.value} of {group} cannot be loaded: {exc}: "
                "reinstall the package that declares it (pip install -e .)"
            ) from exc
    if not found:
        raise NotFound(f"no entry points in group {group}: install dirac-core (pip install -e .)")
    return found
