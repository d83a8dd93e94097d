"""RFC 3820 proxy certificates, as grid users and pilots present them.

A proxy's subject is its issuer's subject plus one ``CN=<serial>``; it is signed by the user's (or
host's) key and carries the critical ProxyCertInfo extension (policy "inherit all"). The identity
a server maps through the Registry is the end-entity DN: trailing proxy CNs are dropped.
"""

from __future__ import annotations

import datetime
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID, ObjectIdentifier

from dirac_core.x509.certs import END_ENTITY_KEY_USAGE, dirac_dn

PROXY_CERT_INFO = ObjectIdentifier("1.3.6.1.5.5.7.1.14")
# DER of ProxyCertInfo { proxyPolicy { policyLanguage id-ppl-inheritAll (1.3.6.1.5.5.7.21.1) } }
_INHERIT_ALL = bytes.fromhex("300c300a06082b06010505071501")
_PROXY_CN = re.compile(r"/CN=\d+$")


def is_proxy(cert: x509.Certificate) -> bool:
    """RFC 3820 proxy (ProxyCertInfo present); legacy Globus proxies are not accepted."""
    try:
        cert.extensions.get_extension_for_oid(PROXY_CERT_INFO)
    except x509.ExtensionNotFound:
        return False
    return True


def identity_dns(cert: x509.Certificate) -> tuple[str, ...]:
    """Candidate end-entity DNs behind a verified `cert`, most likely first.

    Not a proxy: its subject. A proxy: its issuer's DN, then that DN with trailing numeric CNs removed
    one by one (a proxy of a proxy: only the chain, which Python < 3.13 does not expose, would say how
    deep). The Registry lookup picks the first candidate it knows.
    """
    if not is_proxy(cert):
        return (dirac_dn(cert.subject),)
    dn = dirac_dn(cert.issuer)
    candidates = [dn]
    while _PROXY_CN.search(dn):
        dn = _PROXY_CN.sub("", dn)
        candidates.append(dn)
    return tuple(candidates)


def create_proxy(
    issuer_cert: x509.Certificate,
    issuer_key: CertificateIssuerPrivateKeyTypes,
    *,
    hours: float = 12,
    chain: tuple[x509.Certificate, ...] = (),
) -> bytes:
    """PEM proxy file: proxy certificate, its private key, then the issuer chain (grid layout)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    serial = x509.random_serial_number()
    subject = x509.Name([*issuer_cert.subject, x509.NameAttribute(NameOID.COMMON_NAME, str(serial % 2**31))])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(hours=hours), issuer_cert.not_valid_after_utc))
        .add_extension(
            END_ENTITY_KEY_USAGE,
            critical=True,
        )
        .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, _INHERIT_ALL), critical=True)
        .sign(issuer_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    parts = [
        cert.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()),
        issuer_cert.public_bytes(pem),
        *(c.public_bytes(pem) for c in chain),
    ]
    return b"".join(parts)
