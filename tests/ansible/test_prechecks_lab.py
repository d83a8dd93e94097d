"""prechecks.yml stops, before any change, with a message naming the problem (lab hosts, new site).

Marked `lab`: each case runs prechecks.yml against the lab with one broken input given as extra vars.
"""

from __future__ import annotations

import datetime
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.ansible.test_site_lab import BIN, INVENTORY, LIMIT, ROOT, SSH_CONFIG, _env

pytestmark = [pytest.mark.lab]
PLACEMENT = yaml.safe_load((INVENTORY / "group_vars" / "cc_in2p3" / "main.yml").read_text())["dirac_placement"]


def prechecks(tmp_path: Path, extra: dict[str, object]) -> subprocess.CompletedProcess[str]:
    if not SSH_CONFIG.is_file():
        pytest.skip(f"{SSH_CONFIG} missing: run `dirac-kit lab up`")
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra))
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            "-i",
            str(INVENTORY),
            "playbooks/prechecks.yml",
            "--limit",
            LIMIT,
            "-e",
            f"@{extra_file}",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def _fails_with(result: subprocess.CompletedProcess[str], text: str) -> None:
    assert result.returncode != 0, result.stdout[-3000:]
    assert text in result.stdout, result.stdout[-5000:]
    assert "changed=1" not in result.stdout  # nothing was changed on the way


def test_host_missing_from_inventory(tmp_path: Path) -> None:
    placement = [*PLACEMENT, {"instance": "egi", "component": "Framework/Auth", "host": "ccdiracli99"}]
    _fails_with(prechecks(tmp_path, {"dirac_placement": placement}), "host ccdiracli99 is missing from the inventory")


def test_component_placed_twice(tmp_path: Path) -> None:
    placement = [*PLACEMENT, {"instance": "egi", "component": "WorkloadManagement/JobManager", "host": "ccdiracli09"}]
    _fails_with(prechecks(tmp_path, {"dirac_placement": placement}), "placed twice: WorkloadManagement/JobManager")


def test_missing_vault_secret(tmp_path: Path) -> None:
    extra = {"dirac_db_passwords": {"egi": "a-long-enough-secret"}}
    _fails_with(prechecks(tmp_path, extra), "vault secret vault_dirac_db_password_fg is not set (vault id lab)")


@pytest.mark.timeout(1800)  # may be the test that waits for the site deploy
def test_unreachable_db(deployed: None, tmp_path: Path) -> None:
    # Reachability is checked where MariaDB runs (on bare hosts site.yml has yet to install it).
    _fails_with(prechecks(tmp_path, {"dirac_db_port": 3399}), "is not reachable on port 3399")


def test_expired_certificate(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    for instance, hosts in (
        ("egi", ["ccdiracli07", "ccdiracli08", "ccdiracli09"]),
        ("fg", ["ccdiracli10", "ccdiracli11"]),
    ):
        for host in hosts:
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=30))
                .not_valid_after(now - datetime.timedelta(days=1))
                .sign(key, hashes.SHA256())
            )
            folder = tmp_path / "pki" / instance / "hosts" / host
            folder.mkdir(parents=True)
            (folder / "hostcert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    extra = {
        "dirac_certs_mode": "provided",
        "dirac_certs_controller_dir": str(tmp_path / "pki"),
        "dirac_certs_token_key_content": "present",
    }
    _fails_with(prechecks(tmp_path, extra), "host certificate expired on")
