"""dirac_db_migrate on its molecule host: the target holds every source row, the cutover finished,
the secrets stayed 0600 in a 0700 work directory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "tests" / "ansible" / "testinfra"))

import dirac_checks


def test_target_holds_the_source_rows(host: Any) -> None:
    dirac_checks.check_migrated(host, "mol_src_AccountingDB", "mol_AccountingDB")


def test_cutover_done_and_secrets_private(host: Any) -> None:
    dirac_checks.check_migration_workdir(host, "/opt/dirac/migrate/mol")
