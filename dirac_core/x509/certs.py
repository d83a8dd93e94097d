"""Create and inspect the certificates of a dirac_core instance.

An instance CA signs host certificates (SANs: FQDN, short name, optional IPs; usable as server and
client, like grid host certificates) and user certificates (client only). DNs are written the way
DIRAC and the Registry write them: ``/O=DIRAC/OU=hosts/CN=ccdiracli07.in2p3.fr``. Private keys are
written with mode 0600, and never overwritten silently.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dirac_core.errors import BadRequest, ConfigError, Conflict

ORGANISATION = "DIRAC"
_OID_SHORT = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.LOCALITY_NAME: "L",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.COMMON_NAME: "CN",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.EMAIL_ADDRESS: "emailAddress",
}


@dataclass(frozen=True)
class CertInfo:
    subject: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime
    names: tuple[str, ...]
    is_ca: bool

    @property
    def days_left(self) -> int:
        return (self.not_after - datetime.datetime.now(datetime.UTC)).days


# A host, user or proxy certificate signs and enciphers keys (TLS client and server), never certificates.
END_ENTITY_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=True,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


def dirac_dn(name: x509.Name) -> str:
    """OpenSSL "oneline" form that DIRAC stores in ``/Registry/.../DN``."""
    parts = []
    for attribute in name:
        key = _OID_SHORT.get(attribute.oid, attribute.oid.dotted_string)
        parts.append(f"/{key}={attribute.value!s}")
    return "".join(parts)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_private_key(path: Path, key: CertificateIssuerPrivateKeyTypes, *, overwrite: bool = False) -> None:
    """PEM, unencrypted, created with mode 0600 (never world-readable, even briefly)."""
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_file(path, data, 0o600, overwrite)


def write_certificate(path: Path, cert: x509.Certificate, *, overwrite: bool = False) -> None:
    write_file(path, cert.public_bytes(serialization.Encoding.PEM), 0o644, overwrite)


def write_file(path: Path, data: bytes, mode: int, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise Conflict(f"{path} already exists: remove it or pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    tmp.chmod(mode)
    tmp.replace(path)


def create_ca(
    common_name: str = "dirac_core instance CA", days: int = 3650
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = new_private_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    subject: x509.Name,
    sans: list[x509.GeneralName],
    usages: list[x509.ObjectIdentifier],
    days: int,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = new_private_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            END_ENTITY_KEY_USAGE,
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()), key


def issue_host_certificate(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    fqdn: str,
    *,
    alt_names: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    days: int = 395,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """Host certificate for `fqdn`; SANs are the FQDN, its short name, `alt_names` and `ips`."""
    if not fqdn or "/" in fqdn or " " in fqdn:
        raise BadRequest(f"host name {fqdn!r} is not a valid DNS name: give the FQDN, e.g. ccdiracli07.in2p3.fr")
    names: list[str] = [fqdn]
    short = fqdn.split(".", 1)[0]
    for name in (short, *alt_names):
        if name and name not in names:
            names.append(name)
    sans: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    for ip in ips:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError as exc:
            raise BadRequest(f"{ip!r} is not an IP address: pass --ip with a literal IPv4/IPv6 address") from exc
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "hosts"),
            x509.NameAttribute(NameOID.COMMON_NAME, fqdn),
        ]
    )
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    return _leaf(ca_cert, ca_key, subject, sans, usages, days)


def issue_user_certificate(
    ca_cert: x509.Certificate,
    ca_key: CertificateIssuerPrivateKeyTypes,
    username: str,
    *,
    email: str | None = None,
    days: int = 395,
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    if not username or "/" in username:
        raise BadRequest(f"user name {username!r} is not valid: use the DIRAC user name, e.g. jdoe")
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "users"),
            x509.NameAttribute(NameOID.COMMON_NAME, username),
        ]
    )
    sans: list[x509.GeneralName] = [x509.RFC822Name(email)] if email else []
    return _leaf(ca_cert, ca_key, subject, sans, [ExtendedKeyUsageOID.CLIENT_AUTH], days)


def load_certificate(path: Path) -> x509.Certificate:
    if not path.is_file():
        raise ConfigError(f"certificate {path} not found: create it with dirac-core certs")
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        raise ConfigError(f"{path} is not a PEM certificate: {exc}") from exc


def load_private_key(path: Path) -> CertificateIssuerPrivateKeyTypes:
    from dirac_core.db.engine import read_secret_file  # the same 0600 rule as DB passwords

    text = read_secret_file(path)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    return key  # type: ignore[return-value]


def certificate_info(cert: x509.Certificate) -> CertInfo:
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        pass
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    return CertInfo(
        subject=dirac_dn(cert.subject),
        issuer=dirac_dn(cert.issuer),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        names=tuple(names),
        is_ca=is_ca,
    )


def verify_certificate(cert: x509.Certificate, ca_cert: x509.Certificate) -> None:
    """Raise ConfigError unless `cert` is signed by `ca_cert` and currently valid."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{dirac_dn(cert.subject)} is not signed by CA {dirac_dn(ca_cert.subject)}: reissue it with that CA"
        ) from exc
    except Exception as exc:  # cryptography's InvalidSignature
        raise ConfigError(
            f"{dirac_dn(cert.subject)} has an invalid signature for CA {dirac_dn(ca_cert.subject)}: reissue it"
        ) from exc
    now = _now()
    if now > cert.not_valid_after_utc:
        raise ConfigError(f"{dirac_dn(cert.subject)} expired on {cert.not_valid_after_utc:%Y-%m-%d}: renew it")
    if now < cert.not_valid_before_utc:
        raise ConfigError(f"{dirac_dn(cert.subject)} is not valid before {cert.not_valid_before_utc}: check clocks")
