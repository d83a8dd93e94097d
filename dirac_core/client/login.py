"""`dirac login`: OAuth2 device-code flow against Framework/Auth; the token is kept in ~/.dirac/token.

The token file (mode 0600) holds JSON: access_token, expires_at, dirac_group, username, auth_url.
``$DIRAC_TOKEN_FILE`` overrides the location (tests, several identities).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from dirac_core.client.http import make_ssl_context, split_service_url
from dirac_core.errors import BadRequest, DiracError, Forbidden, ServiceUnavailable, Unauthorized

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def token_file_path() -> Path:
    return Path(os.environ.get("DIRAC_TOKEN_FILE", "~/.dirac/token")).expanduser()


@dataclass(frozen=True)
class DevicePrompt:
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: int


@dataclass(frozen=True)
class StoredToken:
    access_token: str
    expires_at: float
    group: str
    username: str
    auth_url: str

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


class AuthClient:
    """Talks to ``https://host:port/Framework/Auth`` (REST under /api/Framework/Auth)."""

    def __init__(
        self, auth_url: str, *, ca_bundle: str | None = None, cert: tuple[str, str] | None = None, timeout: float = 30
    ) -> None:
        origin, service = split_service_url(auth_url)
        self.auth_url = auth_url
        self.api = f"{origin}/api/{service}"
        self._http = httpx.Client(verify=make_ssl_context(cert, ca_bundle), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _post(self, path: str, data: dict[str, str]) -> httpx.Response:
        try:
            return self._http.post(f"{self.api}/{path}", data=data)
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"cannot reach {self.api}: {exc}: check the Framework/Auth URL") from exc

    def start_device_login(self, group: str | None = None) -> tuple[str, int, DevicePrompt]:
        response = self._post("device", {"client_id": "dirac-cli", "scope": f"group:{group}" if group else ""})
        body = _json(response)
        if response.status_code != 200:
            raise _oauth_failure(response.status_code, body)
        prompt = DevicePrompt(
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=int(body["expires_in"]),
        )
        return str(body["device_code"]), int(body.get("interval", 5)), prompt

    def poll_device_token(
        self, device_code: str, interval: int, deadline: float, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Any]:
        while True:
            response = self._post("token", {"grant_type": DEVICE_GRANT, "device_code": device_code})
            body = _json(response)
            if response.status_code == 200:
                return body
            error = body.get("error")
            if error == "slow_down":
                interval += 5
            elif error != "authorization_pending":
                raise _oauth_failure(response.status_code, body)
            if time.time() + interval > deadline:
                raise Unauthorized("login not approved in time: run dirac login again and approve the code")
            sleep(interval)

    def client_credentials(self, group: str | None = None) -> dict[str, Any]:
        """Token for the client certificate given to the constructor (hosts, pilots)."""
        data = {"grant_type": "client_credentials", "scope": f"group:{group}" if group else ""}
        response = self._post("token", data)
        body = _json(response)
        if response.status_code != 200:
            raise _oauth_failure(response.status_code, body)
        return body


def device_login(
    auth_url: str,
    *,
    group: str | None = None,
    ca_bundle: str | None = None,
    on_prompt: Callable[[DevicePrompt], None],
    timeout: float = 600,
) -> StoredToken:
    """Full device flow; `on_prompt` shows the user the code and URL."""
    with AuthClient(auth_url, ca_bundle=ca_bundle) as client:
        device_code, interval, prompt = client.start_device_login(group)
        on_prompt(prompt)
        deadline = time.time() + min(timeout, prompt.expires_in)
        body = client.poll_device_token(device_code, interval, deadline)
    return StoredToken(
        access_token=str(body["access_token"]),
        expires_at=time.time() + int(body.get("expires_in", 3600)),
        group=str(body.get("dirac_group", "")),
        username=str(body.get("preferred_username", "")),
        auth_url=auth_url,
    )


def save_token(token: StoredToken, path: Path | None = None) -> Path:
    path = path or token_file_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps(token.__dict__).encode()
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def load_token(path: Path | None = None) -> StoredToken:
    path = path or token_file_path()
    if not path.is_file():
        raise Unauthorized(f"no token in {path}: run dirac login")
    try:
        raw = json.loads(path.read_text())
        token = StoredToken(**raw)
    except (ValueError, TypeError) as exc:
        raise Unauthorized(f"{path} is not a dirac token file: run dirac login again") from exc
    if token.expired:
        raise Unauthorized(f"the token in {path} expired: run dirac login")
    return token


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {"error": "server_error", "error_description": response.text[:200]}


def _oauth_failure(status: int, body: dict[str, Any]) -> DiracError:
    description = str(body.get("error_description") or body.get("detail") or body.get("error") or status)
    if status == 403 or body.get("error") == "access_denied":
        return Forbidden(description)
    if status == 401:
        return Unauthorized(description)
    if status >= 500:
        return ServiceUnavailable(description)
    return BadRequest(description)
