"""Filter for dirac_common's precheck: the controller Python's version, which the hosts must match."""

from __future__ import annotations

import subprocess
from typing import Any


def dirac_prechecks_python_version(python: str) -> str:
    """'major.minor' of a Python executable (the controller's, which builds the wheels)."""
    code = "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"dirac_prechecks_python_version": dirac_prechecks_python_version}
