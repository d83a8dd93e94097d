"""Accounting types: DIRAC's key fields (what records are grouped by) and value fields (what is summed).

A type is registered per Setup: its tables are named after ``<Setup>_<Type>`` (see
`dirac_core.db.accountingdb`). Setup and type names may not contain ``_`` so that the full name
splits back unambiguously (the migration engine renames tables when a Setup is renamed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dirac_core.errors import BadRequest, NotFound

DAY = 86400
# BaseAccountingType.bucketsLength: (maximum age in seconds, bucket length in seconds), youngest first.
DEFAULT_BUCKETS: tuple[tuple[int, int], ...] = (
    (DAY * 3, 900),  # < 3 days: 15 minutes
    (DAY * 8, 3600),  # < 1 week + 1 day: 1 hour
    (15552000, DAY),  # < 6 months: 1 day
    (31104000, 604800),  # older: 1 week
)
JOB_BUCKETS: tuple[tuple[int, int], ...] = (
    (DAY * 8, 3600),  # < 1 week + 1 day: 1 hour
    (DAY * 35, 3600 * 4),  # < 35 days: 4 hours
    (DAY * 30 * 6, DAY),  # < 6 months: 1 day
    (DAY * 365, DAY * 2),  # < 1 year: 2 days
    (DAY * 600, 604800),  # older: 1 week
)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,31}$")


@dataclass(frozen=True)
class AccountingType:
    name: str
    key_fields: tuple[tuple[str, int], ...]  # (field, maximum length of its values)
    value_fields: tuple[str, ...]
    buckets_length: tuple[tuple[int, int], ...] = DEFAULT_BUCKETS
    # Report names users type (``--group-by site``) -> key field.
    aliases: tuple[tuple[str, str], ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return tuple(name for name, _length in self.key_fields)

    def key_length(self, field: str) -> int:
        return dict(self.key_fields)[field]

    def bucket_length_for(self, age_seconds: float) -> int:
        """DIRAC's calculateBucketLengthForTime: the first step whose maximum age is not reached."""
        for max_age, length in self.buckets_length:
            if age_seconds < max_age:
                return length
        return self.buckets_length[-1][1]

    def key_field(self, name: str) -> str:
        """A key field by its name or alias (case-insensitive), or a 400 naming the choices."""
        lowered = name.lower()
        for key in self.key_names:
            if key.lower() == lowered:
                return key
        for alias, key in self.aliases:
            if alias == lowered:
                return key
        choices = ", ".join([*self.key_names, *(alias for alias, _ in self.aliases)])
        raise BadRequest(f"{self.name} has no key field {name!r}: group by one of {choices}")


JOB = AccountingType(
    "Job",
    (
        ("User", 64),
        ("UserGroup", 32),
        ("JobGroup", 64),
        ("JobType", 32),
        ("JobClass", 32),
        ("ProcessingType", 256),
        ("Site", 64),
        ("FinalMajorStatus", 32),
        ("FinalMinorStatus", 256),
    ),
    (
        "CPUTime",
        "NormCPUTime",
        "ExecTime",
        "InputDataSize",
        "OutputDataSize",
        "InputDataFiles",
        "OutputDataFiles",
        "DiskSpace",
        "InputSandBoxSize",
        "OutputSandBoxSize",
        "ProcessedEvents",
    ),
    JOB_BUCKETS,
    (("user", "User"), ("group", "UserGroup"), ("site", "Site"), ("status", "FinalMajorStatus")),
)

DATA_OPERATION = AccountingType(
    "DataOperation",
    (
        ("OperationType", 32),
        ("User", 64),
        ("ExecutionSite", 255),
        ("Source", 255),
        ("Destination", 255),
        ("Protocol", 255),
        ("FinalStatus", 32),
    ),
    (
        "TransferSize",
        "TransferTime",
        "RegistrationTime",
        "TransferOK",
        "TransferTotal",
        "RegistrationOK",
        "RegistrationTotal",
    ),
    DEFAULT_BUCKETS,
    (("user", "User"), ("site", "ExecutionSite"), ("status", "FinalStatus"), ("operation", "OperationType")),
)

BUILTIN_TYPES: dict[str, AccountingType] = {t.name: t for t in (JOB, DATA_OPERATION)}


def get_type(name: str) -> AccountingType:
    if name not in BUILTIN_TYPES:
        raise NotFound(f"unknown accounting type {name!r}: known types are {', '.join(sorted(BUILTIN_TYPES))}")
    return BUILTIN_TYPES[name]


def check_name(kind: str, name: str) -> str:
    """Setup and type names become part of table names: letters, digits and '-', no '_'."""
    if not NAME_RE.match(name):
        raise BadRequest(
            f"{kind} name {name!r} cannot name accounting tables: use letters, digits and '-' "
            "(no '_', at most 32 characters, starting with a letter)"
        )
    return name


def full_name(setup: str, type_name: str) -> str:
    """DIRAC's ``<Setup>_<Type>``: the name of the type in ``ac_catalog_Types`` and in its tables."""
    return f"{check_name('setup', setup)}_{check_name('type', type_name)}"


def split_full_name(name: str) -> tuple[str, str]:
    setup, sep, type_name = name.rpartition("_")
    if not sep:
        raise BadRequest(f"{name!r} is not a <Setup>_<Type> accounting type name")
    return setup, type_name
