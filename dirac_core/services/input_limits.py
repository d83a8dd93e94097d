"""Resource limits on what one request may make a service do: CS options with sane defaults.

Each limit is an option of the service section (``/Systems/<System>/<Instance>/Services/<Service>``)
declared with its default and meaning in `dirac_core.contract.components` (``MaxJDLBytes``,
``MaxJobCopies``, ``MaxSubmitBytes``, ``MaxQueryNesting``, ``MaxQueryConditions``,
``MaxRecordSpanDays``, ``MaxReportSpanDays``); the logic refuses a request over it with a message
naming the limit and the option. `limit_of` reads one, refusing a value that is no positive integer.
"""

from __future__ import annotations

from dirac_core.contract.components import component_spec
from dirac_core.errors import ConfigError
from dirac_core.services.component import ComponentContext


def limit_of(ctx: ComponentContext, name: str, component: str) -> int:
    """Limit `name` of `component` (its declared option) for the service of `ctx`."""
    option = component_spec(component).option(name)
    value = ctx.int_option(option)
    if value < 1:
        raise ConfigError(f"{ctx.section}/{name} = {value}: give a positive number ({option.doc})")
    return value
