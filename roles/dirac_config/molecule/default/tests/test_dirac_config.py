"""dirac_config on its molecule host: layers rendered and valid; the CS (started by side_effect) answers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "tests" / "ansible" / "testinfra"))

import dirac_checks

FQDN = "mol-dirac.lab"


def test_layers(host: Any) -> None:
    dirac_checks.check_config_layers(host, instance="egi", setup="EGI-Production", master=True)


def test_cs_answers(host: Any) -> None:
    dirac_checks.check_cs_answers(host, fqdn=FQDN, master=True)
