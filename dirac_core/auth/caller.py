"""Who is calling: the identity every router and RPC method authorizes against.

Built by the runtime from a verified bearer token or a verified client certificate mapped through
the CS Registry. Properties are DIRAC's (NormalUser, JobAdministrator, GenericPilot, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dirac_core.errors import Forbidden


class Properties:
    NORMAL_USER = "NormalUser"
    JOB_ADMINISTRATOR = "JobAdministrator"
    GENERIC_PILOT = "GenericPilot"
    JOB_SHARING = "JobSharing"
    TRUSTED_HOST = "TrustedHost"
    SERVICE_ADMINISTRATOR = "ServiceAdministrator"
    CS_ADMINISTRATOR = "CSAdministrator"
    FILE_CATALOG_MANAGEMENT = "FileCatalogManagement"


@dataclass(frozen=True)
class Caller:
    sub: str  # stable subject (token `sub`, or certificate DN)
    username: str  # DIRAC user or host name from the Registry
    vo: str
    group: str  # dirac_group, e.g. "egi_user", "dirac_admin", "egi_pilot"
    properties: frozenset[str] = field(default_factory=frozenset)
    is_host: bool = False

    def has(self, prop: str) -> bool:
        return prop in self.properties

    def require(self, *any_of: str) -> None:
        """Raise 403 unless the caller holds at least one of the properties."""
        if not any(p in self.properties for p in any_of):
            raise Forbidden(
                f"{self.username} (group {self.group}) lacks property {' or '.join(any_of)} needed for this call"
            )

    @property
    def is_job_admin(self) -> bool:
        return Properties.JOB_ADMINISTRATOR in self.properties

    @property
    def is_pilot(self) -> bool:
        return Properties.GENERIC_PILOT in self.properties
