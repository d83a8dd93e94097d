"""dirac_certs on its molecule host: key 0600 owned by dirac, SANs FQDN + short name, trust bundle."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[5] / "tests" / "ansible" / "testinfra"))

import dirac_checks

HOST = "molecule-dirac-certs"


def test_certs(host: Any) -> None:
    dirac_checks.check_certs(host, fqdn=HOST)


def test_token_key_where_tokens_are_issued(host: Any) -> None:
    # Framework/Auth is placed here: the private token key (0600) and the public one.
    key = host.file("/opt/dirac/etc/grid-security/token-signing.key")
    assert key.exists and key.mode == 0o600 and key.user == "dirac"
    assert host.file("/opt/dirac/etc/grid-security/token-signing.pub").contains("BEGIN PUBLIC KEY")
