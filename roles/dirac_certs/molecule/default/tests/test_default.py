"""testinfra checks of dirac_certs on the molecule host."""

from __future__ import annotations


def test_host_certificate_key_and_bundle(host):
    base = "/opt/dirac/etc/grid-security"
    key = host.file(f"{base}/hostkey.pem")
    assert key.mode == 0o600 and key.user == "dirac"
    assert host.file(f"{base}/certificates/dirac-ca-bundle.pem").contains("BEGIN CERTIFICATE")
    names = host.run(f"openssl x509 -in {base}/hostcert.pem -noout -ext subjectAltName").stdout
    assert "DNS:mol-dirac.lab" in names and "DNS:mol-dirac" in names
    assert host.run(f"openssl verify -CAfile {base}/certificates/dirac-ca-bundle.pem {base}/hostcert.pem").rc == 0


def test_token_key_only_where_tokens_are_issued(host):
    base = "/opt/dirac/etc/grid-security"
    assert host.file(f"{base}/token-signing.key").mode == 0o600
    assert host.file(f"{base}/token-signing.pub").exists
