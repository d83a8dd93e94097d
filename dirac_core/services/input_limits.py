"""Resource limits on what one request may make a service do: CS options with sane defaults.

Each limit is an option of the service section (``/Systems/<System>/<Instance>/Services/<Service>``);
the logic refuses a request over it with a message naming the limit and the option. This module
is the one place that declares them and reads them (`limit_of`).
"""

from __future__ import annotations

from dataclasses import dataclass

from dirac_core.errors import ConfigError
from dirac_core.services.component import ComponentContext


@dataclass(frozen=True)
class LimitOption:
    component: str  # "WorkloadManagement/JobManager"
    name: str
    default: int
    doc: str


LIMITS: tuple[LimitOption, ...] = (
    LimitOption(
        "WorkloadManagement/JobManager", "MaxJDLBytes", 256 * 1024, "bytes of one JDL (413 above; JDLs are KBs)"
    ),
    LimitOption("WorkloadManagement/JobManager", "MaxJobCopies", 100, "copies one submitJobCopies call may make"),
    LimitOption(
        "WorkloadManagement/JobManager",
        "MaxSubmitBytes",
        16 * 1024 * 1024,
        "JDL bytes one submission stores: JDL size x jobs it makes (copies or parametric jobs)",
    ),
    LimitOption(
        "DataManagement/FileCatalog", "MaxQueryNesting", 32, "parentheses depth of a findFilesByMetadata query"
    ),
    LimitOption("DataManagement/FileCatalog", "MaxQueryConditions", 200, "conditions in one metadata query"),
    LimitOption("Accounting/DataStore", "MaxRecordSpanDays", 31, "days from startTime to endTime of one record"),
    LimitOption("Accounting/ReportGenerator", "MaxReportSpanDays", 3660, "days from start to end of one report"),
)


def limit_option(component: str, name: str) -> LimitOption:
    for option in LIMITS:
        if option.component == component and option.name == name:
            return option
    raise KeyError(f"{component} declares no limit {name}")


def limit_of(ctx: ComponentContext, name: str, component: str | None = None) -> int:
    """The value of limit `name` for the service of `ctx` (its declared default when unset)."""
    option = limit_option(component or ctx.component, name)
    raw = ctx.option(name)
    if raw is None or not raw.strip():
        return option.default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ctx.section}/{name} = {raw!r} is not an integer: {option.doc}") from None
    if value < 1:
        raise ConfigError(f"{ctx.section}/{name} = {value}: give a positive number ({option.doc})")
    return value
