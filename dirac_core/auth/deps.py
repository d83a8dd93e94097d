"""Short import path for routers: ``from dirac_core.auth.deps import current_caller``."""

from dirac_core.auth.dependencies import current_caller, require_property

__all__ = ["current_caller", "require_property"]
