"""The acceptance of the Ansible content on real lab hosts (SSH, systemd), new site cc_in2p3.

Marked `lab` (the CI lab stage runs it): needs `dirac-kit lab up`. In order: site.yml deploys (from bare hosts after
`dirac-kit lab reset`), a second run changes nothing, `--check --diff` changes nothing, verify.yml
passes for EGI and FG, and testinfra looks at every host: units enabled and running, each component
answering /health over TLS, key files 0600, each DB user granted only its own databases.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = ROOT / "inventories" / "lab"
VAULT_ID = f"lab@{INVENTORY / 'vault-password.lab.txt'}"
SSH_CONFIG = Path(os.environ.get("DIRAC_LAB_SSH_CONFIG", ROOT / "var" / "lab" / "ssh_config"))
LIMIT = "cc_in2p3"
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)

# The first test that needs the site waits for the deploy (target <= 10 min; the scenarios of
# tests/ansible/test_molecule.py share the machine meanwhile).
pytestmark = [pytest.mark.lab, pytest.mark.timeout(1800)]


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_VAULT_IDENTITY_LIST": VAULT_ID,
        "DIRAC_LAB_SSH_CONFIG": str(SSH_CONFIG),
        "ANSIBLE_FORCE_COLOR": "0",
    }


def playbook(name: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, dict[str, int]], float]:
    start = time.monotonic()
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(INVENTORY), f"playbooks/{name}", "--limit", LIMIT, *extra],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    recap = {
        m.group(1): {
            "ok": int(m.group(2)),
            "changed": int(m.group(3)),
            "unreachable": int(m.group(4)),
            "failed": int(m.group(5)),
        }
        for m in RECAP.finditer(result.stdout)
    }
    return result, recap, time.monotonic() - start


def test_second_run_changes_and_restarts_nothing(deployed: None) -> None:
    result, recap, seconds = playbook("site.yml")
    assert result.returncode == 0, result.stdout[-8000:]
    print(f"site.yml rerun: {seconds:.0f} s")
    assert recap and all(counts["changed"] == 0 for counts in recap.values()), recap
    assert "Restart changed DIRAC components" not in result.stdout


def test_check_diff_against_the_deployed_site_changes_nothing(deployed: None) -> None:
    result, recap, _ = playbook("site.yml", "--check", "--diff")
    assert result.returncode == 0, result.stdout[-8000:]
    assert all(counts["changed"] == 0 for counts in recap.values()), recap


def test_verify_passes_for_egi_and_fg(deployed: None) -> None:
    result, _, _ = playbook("verify.yml")
    assert result.returncode == 0, result.stdout[-8000:]
    for instance in ("egi", "fg"):
        assert f"{instance}: job " in result.stdout and "Done" in result.stdout


def _hosts() -> dict[str, Any]:
    import testinfra

    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(INVENTORY), "--list", "--limit", LIMIT],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    data = yaml.safe_load(out.stdout)
    hostvars = data["_meta"]["hostvars"]
    return {
        name: (testinfra.get_host(f"ssh://root@{name}", ssh_config=str(SSH_CONFIG)), hostvars[name])
        for name in hostvars
    }


@pytest.fixture(scope="module")
def hosts(deployed: None) -> dict[str, Any]:
    return _hosts()


def _placed(hostvars: dict[str, Any], name: str) -> list[str]:
    return [e["component"] for e in hostvars.get("dirac_placement", []) if e["host"] == name]


def test_units_enabled_running_and_answering_over_tls(hosts: dict[str, Any]) -> None:
    catalogue = yaml.safe_load((ROOT / "playbooks" / "vars" / "components.yml").read_text())["dirac_components"]
    ca = "/opt/dirac/etc/grid-security/certificates/dirac-ca-bundle.pem"
    for name, (host, hostvars) in hosts.items():
        for component in _placed(hostvars, name):
            unit = host.service(f"dirac-{hostvars['dirac_instance']}-{component.replace('/', '_')}.service")
            assert unit.is_enabled and unit.is_running, f"{name}: {component}"
            port = catalogue[component]["port"]
            health = host.run(f"curl -sf --cacert {ca} https://{name}:{port}/health")
            assert health.rc == 0 and '"ok"' in health.stdout, f"{name}:{port} {health.stdout} {health.stderr}"
        if _placed(hostvars, name):
            assert host.service("dirac.target").is_enabled


def test_key_files_are_0600(hosts: dict[str, Any]) -> None:
    for name, (host, hostvars) in hosts.items():
        if "dirac_instance" not in hostvars:
            continue
        for path in ["etc/grid-security/hostkey.pem", "etc/secrets/db.password"]:
            f = host.file(f"/opt/dirac/{path}")
            assert f.mode == 0o600 and f.user == "dirac", f"{name}: {path}"
        token = host.file("/opt/dirac/etc/grid-security/token-signing.key")
        assert token.exists == ("Framework/Auth" in _placed(hostvars, name)), name
        if token.exists:
            assert token.mode == 0o600


def test_db_users_have_only_their_own_databases(hosts: dict[str, Any]) -> None:
    db = hosts["ccdiracdb01"][0]  # the new site's MariaDB
    for instance in ("egi", "fg"):
        grants = db.run(f"mariadb -N -e \"SHOW GRANTS FOR 'dirac_{instance}'@'%'\"").stdout.splitlines()
        schemas = {
            m.group(1).replace("\\_", "_") for line in grants for m in [re.search(r" ON `([^`]+)`\.\*", line)] if m
        }
        assert schemas and all(s.startswith(f"{instance}_") for s in schemas), grants
        assert not any(" ON *.* " in line and "USAGE" not in line for line in grants), grants
