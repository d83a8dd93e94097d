"""dirac_services on its molecule host: units enabled + active, /health over CA-verified TLS, CS answers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(REPO / "tests" / "ansible" / "testinfra"))

import dirac_checks  # noqa: E402 - after the sys.path line

FQDN = "mol-dirac.lab"
PLACED = ["Configuration/Server", "Framework/Auth", "WorkloadManagement/JobManager"]  # molecule.yml's placement
CATALOGUE = yaml.safe_load((REPO / "playbooks" / "vars" / "components.yml").read_text())["dirac_components"]


def test_units_enabled_active_and_healthy(host: Any) -> None:
    dirac_checks.check_services(host, "egi", FQDN, {c: CATALOGUE[c]["port"] for c in PLACED})


def test_cs_master_answers(host: Any) -> None:
    dirac_checks.check_cs_answers(host, fqdn=FQDN, master=True)
