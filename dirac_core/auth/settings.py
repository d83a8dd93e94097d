"""Where the CS keeps the security settings of an instance (documented in docs/runtime.md).

``/DIRAC/Security``: ``CertFile``/``KeyFile`` (host certificate and 0600 key), ``CAFile`` (PEM bundle of
trusted CAs) or ``CAPath`` (a hashed directory like /etc/grid-security/certificates).
``/DIRAC/Security/Authorization``: ``TokenKeyFile`` (the instance's Ed25519 signing key, 0600, host
layer), optional ``TokenPublicKeyFile`` (services that verify but never sign), ``Issuer``,
``Audience`` (default: the setup name) and ``AccessTokenLifetime`` (seconds).
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path

from dirac_core.config.cfg import Config
from dirac_core.config.paths import setup_name
from dirac_core.errors import ConfigError

SECURITY = "/DIRAC/Security"
AUTHORIZATION = f"{SECURITY}/Authorization"
DEFAULT_TOKEN_LIFETIME = 12 * 3600


@dataclass(frozen=True)
class TLSSettings:
    cert_file: Path
    key_file: Path
    ca_file: Path | None
    ca_path: Path | None


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    lifetime: int
    key_file: Path | None
    public_key_file: Path | None


def tls_settings(config: Config) -> TLSSettings:
    cert = config.get(f"{SECURITY}/CertFile", None)
    key = config.get(f"{SECURITY}/KeyFile", None)
    if not cert or not key:
        raise ConfigError(
            f"{SECURITY}/CertFile and KeyFile must be set: point them at the host certificate and its 0600 key"
        )
    ca_file = config.get(f"{SECURITY}/CAFile", None)
    ca_path = config.get(f"{SECURITY}/CAPath", None)
    if not ca_file and not ca_path:
        raise ConfigError(
            f"set {SECURITY}/CAFile (PEM bundle) or CAPath (hashed directory) to verify client certificates"
        )
    for path in (Path(cert), Path(key), *(Path(p) for p in (ca_file, ca_path) if p)):
        if not path.exists():
            raise ConfigError(f"{path} (from {SECURITY}) does not exist: create it or fix the path")
    mode = stat.S_IMODE(Path(key).stat().st_mode)
    if mode & 0o077:
        raise ConfigError(f"host key {key} has mode {mode:04o}: run chmod 0600 {key}")
    return TLSSettings(Path(cert), Path(key), Path(ca_file) if ca_file else None, Path(ca_path) if ca_path else None)


def token_settings(config: Config) -> TokenSettings:
    setup = setup_name(config)
    key_file = config.get(f"{AUTHORIZATION}/TokenKeyFile", None)
    public_file = config.get(f"{AUTHORIZATION}/TokenPublicKeyFile", None)
    return TokenSettings(
        issuer=config.get(f"{AUTHORIZATION}/Issuer", f"dirac-core:{setup}"),
        audience=config.get(f"{AUTHORIZATION}/Audience", setup),
        lifetime=config.get_int(f"{AUTHORIZATION}/AccessTokenLifetime", DEFAULT_TOKEN_LIFETIME),
        key_file=Path(key_file) if key_file else None,
        public_key_file=Path(public_file) if public_file else None,
    )
