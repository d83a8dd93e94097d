"""dirac_mariadb on its molecule host: GTID binlog on, root only through the socket."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "tests" / "ansible" / "testinfra"))

import dirac_checks


def test_mariadb_binlog_gtid(host: Any) -> None:
    dirac_checks.check_mariadb_binlog_gtid(host)


def test_mariadb_root_only_by_socket(host: Any) -> None:
    dirac_checks.check_mariadb_root_only_by_socket(host)
