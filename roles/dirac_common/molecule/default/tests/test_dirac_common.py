"""dirac_common on its molecule host: user, layout, pro symlink, a venv that imports dirac_core."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "tests" / "ansible" / "testinfra"))

import dirac_checks


def test_common(host: Any) -> None:
    dirac_checks.check_common(host)
