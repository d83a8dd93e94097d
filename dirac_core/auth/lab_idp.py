"""A small OIDC identity provider for the lab and tests (``dirac-core test-idp``). Not for production.

Implements discovery, JWKS, device authorization (RFC 8628), the token endpoint (device_code grant)
and userinfo. State is in memory. A user "approves" a login by opening ``/device`` (HTML form) or by
``POST /device/approve`` with ``user_code`` and ``username`` (what tests do).
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Header
from fastapi.responses import HTMLResponse, JSONResponse

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_KID = "test-idp-1"


@dataclass
class DeviceRequest:
    client_id: str
    user_code: str
    expires_at: float
    username: str | None = None
    denied: bool = False
    last_poll: float = 0.0


@dataclass
class IdPState:
    issuer: str
    users: dict[str, str]  # username -> subject
    interval: int = 2
    lifetime: int = 600
    key: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    devices: dict[str, DeviceRequest] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def by_user_code(self, user_code: str) -> tuple[str, DeviceRequest] | None:
        wanted = user_code.strip().upper()
        return next(((code, req) for code, req in self.devices.items() if req.user_code == wanted), None)


def _user_code() -> str:
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(8))
    return f"{letters[:4]}-{letters[4:]}"


def _error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def create_test_idp_app(state: IdPState) -> FastAPI:
    app = FastAPI(title="dirac_core test IdP", docs_url=None, redoc_url=None)
    app.state.idp = state

    @app.get("/.well-known/openid-configuration")
    def discovery() -> dict[str, Any]:
        return {
            "issuer": state.issuer,
            "device_authorization_endpoint": f"{state.issuer}/device_authorization",
            "token_endpoint": f"{state.issuer}/token",
            "userinfo_endpoint": f"{state.issuer}/userinfo",
            "jwks_uri": f"{state.issuer}/jwks",
            "grant_types_supported": [DEVICE_GRANT],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(state.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": _KID, "use": "sig", "alg": "RS256"}]}

    @app.post("/device_authorization")
    def device_authorization(client_id: str = Form(...), scope: str = Form("openid")) -> dict[str, Any]:
        del scope
        device_code = secrets.token_urlsafe(32)
        request = DeviceRequest(client_id, _user_code(), time.time() + state.lifetime)
        with state.lock:
            state.devices[device_code] = request
        return {
            "device_code": device_code,
            "user_code": request.user_code,
            "verification_uri": f"{state.issuer}/device",
            "verification_uri_complete": f"{state.issuer}/device?user_code={request.user_code}",
            "expires_in": state.lifetime,
            "interval": state.interval,
        }

    @app.get("/device", response_class=HTMLResponse)
    def device_page(user_code: str = "") -> str:
        options = "".join(f'<option value="{name}">{name}</option>' for name in sorted(state.users))
        return (
            "<html><body><h1>dirac_core test IdP</h1>"
            '<form method="post" action="device/approve">'
            f'<p>Code <input name="user_code" value="{user_code}"></p>'
            f'<p>User <select name="username">{options}</select></p>'
            '<button type="submit">Approve</button></form></body></html>'
        )

    @app.post("/device/approve")
    def approve(user_code: str = Form(...), username: str = Form(...)) -> JSONResponse:
        return _decide(state, user_code, username, deny=False)

    @app.post("/device/deny")
    def deny(user_code: str = Form(...)) -> JSONResponse:
        return _decide(state, user_code, None, deny=True)

    @app.post("/token")
    def token(grant_type: str = Form(...), device_code: str = Form(""), client_id: str = Form("")) -> JSONResponse:
        if grant_type != DEVICE_GRANT:
            return _error("unsupported_grant_type", f"only {DEVICE_GRANT} is supported")
        with state.lock:
            request = state.devices.get(device_code)
            if request is None or request.client_id != client_id:
                return _error("invalid_grant", "unknown device_code for this client")
            now = time.time()
            if now > request.expires_at:
                del state.devices[device_code]
                return _error("expired_token", "device code expired")
            if request.denied:
                del state.devices[device_code]
                return _error("access_denied", "the user denied the request")
            if request.username is None:
                request.last_poll = now
                return _error("authorization_pending", "waiting for the user to approve")
            del state.devices[device_code]
            username = request.username
        return JSONResponse(_tokens(state, username, client_id))

    @app.get("/userinfo")
    def userinfo(authorization: str = Header("")) -> JSONResponse:
        token = authorization.partition(" ")[2]
        try:
            claims = jwt.decode(token, state.key.public_key(), algorithms=["RS256"], audience="userinfo")
        except jwt.PyJWTError as exc:
            return _error("invalid_token", str(exc), 401)
        return JSONResponse({k: claims[k] for k in ("sub", "preferred_username", "email") if k in claims})

    return app


def _decide(state: IdPState, user_code: str, username: str | None, *, deny: bool) -> JSONResponse:
    with state.lock:
        found = state.by_user_code(user_code)
        if found is None:
            return _error("invalid_request", f"unknown user code {user_code!r}", 404)
        if not deny and username not in state.users:
            return _error("invalid_request", f"unknown user {username!r}: one of {', '.join(sorted(state.users))}")
        _code, request = found
        request.denied = deny
        request.username = None if deny else username
    return JSONResponse({"approved": not deny, "username": username})


def _tokens(state: IdPState, username: str, client_id: str) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": state.issuer,
        "sub": state.users[username],
        "preferred_username": username,
        "email": f"{username}@example.org",
        "iat": now,
        "exp": now + 3600,
    }
    headers = {"kid": _KID}
    return {
        "access_token": jwt.encode({**base, "aud": "userinfo"}, state.key, algorithm="RS256", headers=headers),
        "id_token": jwt.encode({**base, "aud": client_id}, state.key, algorithm="RS256", headers=headers),
        "token_type": "Bearer",
        "expires_in": 3600,
    }
