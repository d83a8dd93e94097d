"""OIDC identity provider client of the Framework/Auth service (device flow, RFC 8628).

CS: ``/Resources/IdProviders/<Name>/{Issuer, ClientID, ClientSecretFile?, CAFile?}`` (DIRAC keeps
identity providers under /Resources/IdProviders). Endpoints come from the issuer's
``/.well-known/openid-configuration``; ID tokens are verified with the issuer's JWKS.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from dirac_core.config.cfg import Config
from dirac_core.db.engine import read_secret_file
from dirac_core.errors import ConfigError, ServiceUnavailable, Unauthorized

IDPS = "/Resources/IdProviders"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class IdPSettings:
    name: str
    issuer: str
    client_id: str
    client_secret: str | None
    ca_file: Path | None


def idp_settings(config: Config, name: str | None) -> IdPSettings:
    names = config.sections(IDPS)
    if name is None:
        if len(names) != 1:
            raise ConfigError(
                f"set IdProvider in the Framework/Auth section to one of {IDPS}: {', '.join(names) or 'none defined'}"
            )
        name = names[0]
    if name not in names:
        raise ConfigError(f"identity provider {name!r} is not defined: add a {IDPS}/{name} section")
    section = f"{IDPS}/{name}"
    secret_file = config.get(f"{section}/ClientSecretFile", None)
    ca_file = config.get(f"{section}/CAFile", None)
    return IdPSettings(
        name=name,
        issuer=config.get(f"{section}/Issuer").rstrip("/"),
        client_id=config.get(f"{section}/ClientID"),
        client_secret=read_secret_file(Path(secret_file)) if secret_file else None,
        ca_file=Path(ca_file) if ca_file else None,
    )


class PendingAuthorization(Exception):
    """The IdP answered an OAuth error while polling (authorization_pending, slow_down, ...)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class IdPClient:
    def __init__(self, settings: IdPSettings, timeout: float = 20.0) -> None:
        self.settings = settings
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(settings.ca_file)) if settings.ca_file else True
        )
        self._http = httpx.Client(verify=verify, timeout=timeout)
        self._metadata: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def metadata(self) -> dict[str, Any]:
        with self._lock:
            if self._metadata is None:
                self._metadata = self._get_json(f"{self.settings.issuer}/.well-known/openid-configuration")
            return self._metadata

    def _endpoint(self, name: str) -> str:
        value = self.metadata().get(name)
        if not isinstance(value, str):
            raise ServiceUnavailable(f"identity provider {self.settings.name} does not publish {name}")
        return value

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"identity provider unreachable at {url}: {exc}") from exc
        if response.status_code != 200:
            raise ServiceUnavailable(f"identity provider answered {response.status_code} for {url}")
        body = response.json()
        if not isinstance(body, dict):
            raise ServiceUnavailable(f"identity provider sent a non-object for {url}")
        return body

    def _post(self, url: str, data: dict[str, str]) -> httpx.Response:
        if self.settings.client_secret:
            data = {**data, "client_secret": self.settings.client_secret}
        try:
            return self._http.post(url, data=data)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"identity provider unreachable at {url}: {exc}") from exc

    def start_device_authorization(self, scope: str = "openid profile email") -> dict[str, Any]:
        response = self._post(
            self._endpoint("device_authorization_endpoint"), {"client_id": self.settings.client_id, "scope": scope}
        )
        if response.status_code != 200:
            raise ServiceUnavailable(f"identity provider refused device authorization: {response.text[:200]}")
        body: dict[str, Any] = response.json()
        return body

    def poll_device_token(self, device_code: str) -> dict[str, Any]:
        """Claims of the verified ID token once the user approved; `PendingAuthorization` before."""
        response = self._post(
            self._endpoint("token_endpoint"),
            {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": self.settings.client_id},
        )
        body = response.json()
        if response.status_code != 200:
            error = str(body.get("error", "invalid_grant"))
            raise PendingAuthorization(error, str(body.get("error_description", error)))
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise Unauthorized(f"identity provider {self.settings.name} returned no id_token: request scope openid")
        return self.verify_id_token(id_token)

    def verify_id_token(self, id_token: str) -> dict[str, Any]:
        jwks = jwt.PyJWKSet.from_dict(self._get_json(self._endpoint("jwks_uri")))
        kid = jwt.get_unverified_header(id_token).get("kid")
        keys = [k for k in jwks.keys if kid is None or k.key_id == kid]
        if not keys:
            raise Unauthorized(f"id_token key {kid!r} is not published by {self.settings.name}")
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                keys[0].key,
                algorithms=["RS256", "ES256", "EdDSA"],
                audience=self.settings.client_id,
                issuer=str(self.metadata().get("issuer", self.settings.issuer)),
                options={"require": ["sub", "exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"id_token from {self.settings.name} is invalid: {exc}") from exc
        return claims
