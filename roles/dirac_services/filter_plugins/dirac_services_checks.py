"""Filters for dirac_services' precheck: which ports of the placed components are taken by others."""

from __future__ import annotations

import re
from typing import Any

_SS_PORT = re.compile(r":(\d+)$")


def dirac_prechecks_listening(ss_lines: list[str], ports: list[int]) -> list[int]:
    """Ports among `ports` something listens on, from `ss -Hltn` lines."""
    wanted = {int(port) for port in ports}
    found = {
        int(m.group(1)) for line in ss_lines if len(line.split()) > 3 for m in [_SS_PORT.search(line.split()[3])] if m
    }
    return sorted(found & wanted)


def dirac_prechecks_not_running(components: list[str], instance: str, units: list[str]) -> list[str]:
    """Components whose unit (dirac-<instance>-<System>_<Service>.service) is not among `units`."""
    return [c for c in components if f"dirac-{instance}-{c.replace('/', '_')}.service" not in units]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dirac_prechecks_listening": dirac_prechecks_listening,
            "dirac_prechecks_not_running": dirac_prechecks_not_running,
        }
