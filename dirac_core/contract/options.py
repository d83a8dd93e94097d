"""A CS option a component reads: name, value kind, default and what it means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# The value kinds of `dirac_core.config.valuetypes` that component options use.
Kind = Literal["int", "number", "bool", "port", "path", "string"]


@dataclass(frozen=True)
class OptionSpec:
    name: str
    kind: Kind
    default: str | None  # as written in a CFG file; None: no default (or one computed at start, see doc)
    doc: str
    # The validator checks the kind (config validate); False for options read in a form of their own
    # (e.g. MaxRequestSize's K/M/G suffixes, DefaultUmask's octal).
    checked: bool = True

    @property
    def shown_default(self) -> str:
        return "-" if self.default is None else self.default


# Options every service section may hold, whatever the component (dirac_core.server).
SERVICE_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("Port", "port", None, "HTTPS port; default: the component's DIRAC port"),
    OptionSpec("DisetPort", "port", None, "DISET (dips://) port of the same RPC methods; unset: no DISET listener"),
    OptionSpec("Host", "string", "0.0.0.0", "bind address", checked=False),  # noqa: S104 - documented default
    OptionSpec("MaxThreads", "int", None, "DIRAC's thread pool size (dirac_core does not read it)"),
    OptionSpec("PollInterval", "number", None, "seconds between polls of a background loop"),
    OptionSpec("DataDir", "path", None, "directory of the component's own files"),
    OptionSpec("MaxRequestSize", "string", "64M", "bytes, or K/M/G (binary) suffix; over it: 413", checked=False),
    OptionSpec("GracefulShutdownTimeout", "int", "30", "seconds a stopping service lets requests finish"),
)


def service_option(name: str) -> OptionSpec:
    """One of the options every service section may hold."""
    return next(option for option in SERVICE_OPTIONS if option.name == name)
