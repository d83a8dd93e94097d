"""What a valid DIRAC CS looks like: the declarative rules `dirac-core config validate` applies.

Paths use ``*`` for exactly one path component (any Site, Service, DB...). To teach the validator
something new, add a line to one of the tables below; `dirac_core.config.validate` is the engine.
Rules marked ``host=True`` need the host-local layer (PasswordFile paths) and are skipped when
only the served (global) CS is validated, as on a commit to Configuration/Server.
"""

from __future__ import annotations

from dataclasses import dataclass

from dirac_core.config.valuetypes import BOOL, DB_URL, INT, NUMBER, PATH, PORT, STRING, URL, URL_LIST, ValueType
from dirac_core.contract.components import declared_components
from dirac_core.contract.options import SERVICE_OPTIONS, Kind, OptionSpec


@dataclass(frozen=True)
class KnownSections:
    """Sections matching `pattern` may only contain these subsections (typos get a suggestion)."""

    pattern: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class OptionType:
    pattern: str  # full option path
    type: ValueType


@dataclass(frozen=True)
class Required:
    """Every section matching `section` must have `option`."""

    section: str
    option: str
    example: str
    host: bool = False


@dataclass(frozen=True)
class RequireOneOf:
    """Every section matching `section` must have all options of at least one alternative."""

    section: str
    alternatives: tuple[tuple[str, ...], ...]
    host: bool = False


@dataclass(frozen=True)
class RequireWith:
    """When a section matching `section` has `when`, it must also have `then`."""

    section: str
    when: str
    then: str
    why: str
    host: bool = False


TOP_LEVEL = ("DIRAC", "Systems", "Registry", "Resources", "Operations", "LocalSite", "LocalInstallation", "WebApp")
SYSTEM_INSTANCE = ("Services", "Agents", "Executors", "Databases", "URLs", "FailoverURLs")

KNOWN_SECTIONS: tuple[KnownSections, ...] = (
    KnownSections("/", TOP_LEVEL),
    KnownSections("/DIRAC", ("Setups", "Configuration", "Security", "Extensions")),
    KnownSections("/Systems/*/*", SYSTEM_INSTANCE),
    KnownSections("/Registry", ("Users", "Groups", "Hosts", "VO")),
    KnownSections(
        "/Resources",
        ("Sites", "StorageElements", "StorageElementBases", "FileCatalogs", "Computing", "IdProviders", "Countries"),
    ),
)

_KINDS: dict[Kind, ValueType] = {
    "int": INT,
    "number": NUMBER,
    "bool": BOOL,
    "port": PORT,
    "path": PATH,
    "string": STRING,
}


def _typed(section: str, options: tuple[OptionSpec, ...]) -> tuple[OptionType, ...]:
    return tuple(OptionType(f"{section}/{o.name}", _KINDS[o.kind]) for o in options if o.checked)


def declared_option_types() -> tuple[OptionType, ...]:
    """The types of the options declared in dirac_core.contract: any service's, then each component's."""
    found = _typed("/Systems/*/*/Services/*", SERVICE_OPTIONS)
    for spec in declared_components().values():
        found += _typed(f"/Systems/{spec.system}/*/Services/{spec.service}", spec.options)
    return found


OPTION_TYPES: tuple[OptionType, ...] = (
    OptionType("/DIRAC/Setup", STRING),
    OptionType("/DIRAC/Configuration/Master", BOOL),
    OptionType("/DIRAC/Configuration/Servers", URL_LIST),
    OptionType("/DIRAC/Configuration/MasterServer", URL),
    OptionType("/DIRAC/Configuration/RefreshTime", INT),
    OptionType("/DIRAC/Configuration/EnableAutoMerge", BOOL),
    OptionType("/DIRAC/Security/UseServerCertificate", BOOL),
    OptionType("/DIRAC/Security/CertFile", PATH),
    OptionType("/DIRAC/Security/KeyFile", PATH),
    OptionType("/DIRAC/Security/CALocation", PATH),
    *declared_option_types(),
    OptionType("/Systems/*/*/Agents/*/PollingTime", INT),
    OptionType("/Systems/*/*/URLs/*", URL_LIST),
    OptionType("/Systems/*/*/FailoverURLs/*", URL_LIST),
    OptionType("/Systems/*/*/Databases/*/Port", PORT),
    OptionType("/Systems/*/*/Databases/*/URL", DB_URL),
    OptionType("/Systems/*/*/Databases/*/PasswordFile", PATH),
    OptionType("/Resources/Sites/*/*/CEs/*/Queues/*/maxCPUTime", INT),
    OptionType("/Resources/Sites/*/*/CEs/*/Queues/*/MaxTotalJobs", INT),
    OptionType("/Resources/Sites/*/*/CEs/*/Queues/*/MaxWaitingJobs", INT),
    OptionType("/Resources/StorageElements/*/*/Port", PORT),
    OptionType("/Resources/FileCatalogs/*/Master", BOOL),
)

REQUIRED: tuple[Required, ...] = (
    Required("/DIRAC", "Setup", "Setup = EGI-Production"),
    Required("/Systems/*/*/Services/*", "Port", "Port = 9135"),
    Required("/Registry/Users/*", "DN", "DN = /DC=org/DC=terena/DC=tcs/C=FR/O=CNRS/CN=Jane Doe 12345"),
    Required("/Registry/Hosts/*", "DN", "DN = /DC=org/DC=terena/DC=tcs/C=FR/.../CN=ccdiracli07.in2p3.fr"),
)

REQUIRE_ONE_OF: tuple[RequireOneOf, ...] = (
    RequireOneOf("/Systems/*/*/Databases/*", (("URL",), ("Host", "DBName", "User"))),
)

REQUIRE_WITH: tuple[RequireWith, ...] = (
    RequireWith(
        "/Systems/*/*/Databases/*",
        when="Host",
        then="PasswordFile",
        why="a MariaDB database needs its password from a 0600 file",
        host=True,
    ),
)

# Host-local by nature: a warning when set in a global layer; never served by Configuration/Server
# (a slave must not inherit Master = yes, as DIRAC reads Master only from the local CFG).
LOCAL_ONLY_OPTIONS: tuple[str, ...] = (
    "/DIRAC/Configuration/Master",
    "/DIRAC/Security/CertFile",
    "/DIRAC/Security/KeyFile",
)

# Option names that hold a secret: never inlined, in any layer, even an overridden one.
SECRET_OPTION_SUFFIX = "password"  # noqa: S105 - a name pattern, not a secret
SECRET_OPTION_ALLOWED = ("passwordfile",)

__all__ = [
    "KNOWN_SECTIONS",
    "LOCAL_ONLY_OPTIONS",
    "OPTION_TYPES",
    "REQUIRED",
    "REQUIRE_ONE_OF",
    "REQUIRE_WITH",
    "SECRET_OPTION_ALLOWED",
    "SECRET_OPTION_SUFFIX",
    "KnownSections",
    "OptionType",
    "RequireOneOf",
    "RequireWith",
    "Required",
]
