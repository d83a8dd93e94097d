"""The instance's own access tokens: EdDSA (Ed25519) JWTs.

Claims: ``sub``, ``preferred_username``, ``vo``, ``dirac_group``, ``dirac_properties``,
``dirac_host`` (true for host credentials), ``exp``, ``iat``, ``iss``, ``aud`` (the setup).
Only the Framework/Auth service (and admins with ``dirac-core token``) sign; every service verifies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dirac_core.auth.caller import Caller
from dirac_core.auth.settings import AUTHORIZATION, TokenSettings
from dirac_core.db.engine import read_secret_file
from dirac_core.errors import ConfigError, Unauthorized

ALGORITHM = "EdDSA"


def generate_signing_key(path: Path, *, overwrite: bool = False) -> Ed25519PrivateKey:
    from dirac_core.x509.certs import write_private_key

    key = Ed25519PrivateKey.generate()
    write_private_key(path, key, overwrite=overwrite)
    return key


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    text = read_secret_file(path)
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path} is not a PEM private key: create one with dirac-core token keygen") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{path} is not an Ed25519 key: create one with dirac-core token keygen")
    return key


def load_verification_key(settings: TokenSettings) -> Ed25519PublicKey:
    if settings.public_key_file is not None:
        if not settings.public_key_file.is_file():
            raise ConfigError(f"{AUTHORIZATION}/TokenPublicKeyFile {settings.public_key_file} not found")
        key = serialization.load_pem_public_key(settings.public_key_file.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ConfigError(f"{settings.public_key_file} is not an Ed25519 public key")
        return key
    if settings.key_file is None:
        raise ConfigError(f"{AUTHORIZATION}/TokenKeyFile (or TokenPublicKeyFile) must be set to verify tokens")
    return load_signing_key(settings.key_file).public_key()


class TokenIssuer:
    def __init__(self, key: Ed25519PrivateKey, settings: TokenSettings) -> None:
        self.key = key
        self.settings = settings

    def issue(
        self,
        *,
        sub: str,
        username: str,
        vo: str,
        group: str,
        properties: Iterable[str],
        is_host: bool = False,
        lifetime: int | None = None,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "sub": sub,
            "preferred_username": username,
            "vo": vo,
            "dirac_group": group,
            "dirac_properties": sorted(set(properties)),
            "dirac_host": is_host,
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "iat": issued,
            "exp": issued + (lifetime if lifetime is not None else self.settings.lifetime),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def issue_for(self, caller: Caller, lifetime: int | None = None) -> str:
        return self.issue(
            sub=caller.sub,
            username=caller.username,
            vo=caller.vo,
            group=caller.group,
            properties=caller.properties,
            is_host=caller.is_host,
            lifetime=lifetime,
        )


class TokenVerifier:
    def __init__(self, key: Ed25519PublicKey, settings: TokenSettings) -> None:
        self.key = key
        self.settings = settings

    def verify(self, token: str) -> Caller:
        """The Caller named by a valid token; `Unauthorized` with the reason otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=[ALGORITHM],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                options={"require": ["sub", "exp", "iat", "iss", "aud", "dirac_group"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("access token expired: log in again (dirac login)") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized(
                f"access token is for another audience, not {self.settings.audience!r}: log in to this instance"
            ) from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized(
                f"access token was not issued by {self.settings.issuer!r}: log in to this instance"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("access token signature is invalid (not signed by this instance): log in again") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"access token lacks claim {exc.claim!r}: use a token issued by this instance") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"access token is invalid ({exc}): log in again (dirac login)") from exc
        properties = claims.get("dirac_properties", [])
        if not isinstance(properties, list):
            raise Unauthorized("access token claim dirac_properties is not a list: use a token issued by this instance")
        return Caller(
            sub=str(claims["sub"]),
            username=str(claims.get("preferred_username", claims["sub"])),
            vo=str(claims.get("vo", "")),
            group=str(claims["dirac_group"]),
            properties=frozenset(str(p) for p in properties),
            is_host=bool(claims.get("dirac_host", False)),
        )
