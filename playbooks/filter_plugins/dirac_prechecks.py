"""Filters for playbooks/prechecks.yml: small list checks that are unreadable in Jinja."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from typing import Any

_SS_PORT = re.compile(r":(\d+)$")
_SS_PROCESS = re.compile(r'\(\("([^"]+)"')


def dirac_prechecks_dupes(items: list[str]) -> list[str]:
    """Items present more than once, each named once."""
    return sorted(item for item, count in Counter(items).items() if count > 1)


def dirac_prechecks_python_version(python: str) -> str:
    """'major.minor' of a Python executable (the controller's, which builds the wheels)."""
    code = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def dirac_prechecks_busy_ports(ss_lines: list[str], ports: list[int], ours: list[str]) -> list[int]:
    """Ports among `ports` listened on by a program not in `ours` (from `ss -Hltnp` lines)."""
    busy: set[int] = set()
    for line in ss_lines:
        fields = line.split()
        if len(fields) < 4:
            continue
        match = _SS_PORT.search(fields[3])
        if not match or int(match.group(1)) not in {int(p) for p in ports}:
            continue
        program = _SS_PROCESS.search(line)
        if program is None or program.group(1) not in ours:
            busy.add(int(match.group(1)))
    return sorted(busy)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "dirac_prechecks_dupes": dirac_prechecks_dupes,
            "dirac_prechecks_python_version": dirac_prechecks_python_version,
            "dirac_prechecks_busy_ports": dirac_prechecks_busy_ports,
        }
