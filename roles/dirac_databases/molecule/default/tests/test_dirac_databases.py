"""dirac_databases on its molecule host (also the DB host): own DBs only, private password, schemas."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[5]
sys.path.insert(0, str(REPO / "tests" / "ansible" / "testinfra"))

import dirac_checks  # noqa: E402 - after the sys.path line

PLACED = ["Configuration/Server", "Framework/Auth", "WorkloadManagement/JobManager"]  # molecule.yml's placement
CATALOGUE = yaml.safe_load((REPO / "playbooks" / "vars" / "components.yml").read_text())["dirac_components"]
DATABASES = sorted({f"egi_{db}" for c in PLACED for db in CATALOGUE[c]["databases"]})


def test_user_has_only_its_databases(host: Any) -> None:
    dirac_checks.check_db_user_grants(host, user="dirac_egi", databases=DATABASES)


def test_user_logs_in_with_the_password_file(host: Any) -> None:
    dirac_checks.check_db_user_login(host, db_address="mol-dirac.lab", user="dirac_egi", databases=DATABASES)


def test_schemas_created(host: Any) -> None:
    dirac_checks.check_schemas(host, DATABASES)
