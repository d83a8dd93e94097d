"""Filter for dirac_config's precheck: a list check that is unreadable in Jinja."""

from __future__ import annotations

from collections import Counter
from typing import Any


def dirac_prechecks_dupes(items: list[str]) -> list[str]:
    """Items present more than once, each named once."""
    return sorted(item for item, count in Counter(items).items() if count > 1)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"dirac_prechecks_dupes": dirac_prechecks_dupes}
