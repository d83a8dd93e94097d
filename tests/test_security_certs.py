"""Certificates of an instance: CA, host (SANs, usages), user; files, verification, CLI."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from dirac_core.errors import ConfigError, Conflict
from dirac_core.x509.certs import (
    certificate_info,
    create_ca,
    issue_host_certificate,
    issue_user_certificate,
    verify_certificate,
    write_private_key,
)
from tests.support.instance import DIRAC_CORE


def test_host_certificate_names_and_usages() -> None:
    ca_cert, ca_key = create_ca("Test CA")
    cert, _key = issue_host_certificate(ca_cert, ca_key, "ccdiracli07.in2p3.fr", ips=("192.0.2.7",))
    info = certificate_info(cert)
    assert info.subject == "/O=DIRAC/OU=hosts/CN=ccdiracli07.in2p3.fr"
    assert info.names == ("ccdiracli07.in2p3.fr", "ccdiracli07", "192.0.2.7")
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    verify_certificate(cert, ca_cert)
    assert 360 < info.days_left <= 395


def test_user_certificate_is_client_only_and_checked_against_its_ca() -> None:
    ca_cert, ca_key = create_ca()
    other_ca, _ = create_ca("Other CA")
    cert, _ = issue_user_certificate(ca_cert, ca_key, "jdoe", email="jdoe@example.org")
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    with pytest.raises(ConfigError, match="is not signed by CA"):
        verify_certificate(cert, other_ca)


def test_expired_certificate_is_reported() -> None:
    ca_cert, ca_key = create_ca()
    cert, _ = issue_user_certificate(ca_cert, ca_key, "old", days=1)
    assert certificate_info(cert).days_left in (0, 1)
    ca2, key2 = create_ca()
    past, _ = issue_host_certificate(ca2, key2, "h.example.org", days=1)
    verify_certificate(past, ca2)  # valid now; expiry is reported by days_left


def test_keys_are_private_and_never_overwritten(tmp_path: Path) -> None:
    _cert, key = create_ca()
    path = tmp_path / "ca.key"
    write_private_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    with pytest.raises(Conflict, match="already exists"):
        write_private_key(path, create_ca()[1])
    assert path.read_bytes() == before


def test_bad_names_are_refused_before_anything_is_written() -> None:
    ca_cert, ca_key = create_ca()
    with pytest.raises(Exception, match="not a valid DNS name"):
        issue_host_certificate(ca_cert, ca_key, "bad name")
    with pytest.raises(Exception, match="not an IP address"):
        issue_host_certificate(ca_cert, ca_key, "h.example.org", ips=("nope",))


def test_certs_cli(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([DIRAC_CORE, "certs", *args], capture_output=True, text=True, check=False)

    assert run("ca", "--out-dir", str(tmp_path / "ca")).returncode == 0
    host = run("host", "ccdiracli08.in2p3.fr", "--ca-dir", str(tmp_path / "ca"), "--out-dir", str(tmp_path / "h"))
    assert host.returncode == 0, host.stderr
    assert stat.S_IMODE((tmp_path / "h" / "hostkey.pem").stat().st_mode) == 0o600
    info = run("info", str(tmp_path / "h" / "hostcert.pem"), "--ca", str(tmp_path / "ca" / "ca.pem"))
    assert "subject:   /O=DIRAC/OU=hosts/CN=ccdiracli08.in2p3.fr" in info.stdout
    assert "verified:  yes" in info.stdout
    expiring = run("info", str(tmp_path / "h" / "hostcert.pem"), "--warn-days", "400")
    assert expiring.returncode == 1
    assert "renew it" in expiring.stderr
    again = run("ca", "--out-dir", str(tmp_path / "ca"))
    assert again.returncode == 2
    assert "already exists" in again.stderr
