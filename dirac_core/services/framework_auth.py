"""Framework/Auth: the instance's token endpoint (DIRAC's AuthServer, diracx's /api/auth).

``POST /api/Framework/Auth/device``: start a device-code login at the configured identity provider
(scope ``group:<name>`` chooses the DIRAC group; default group otherwise).
``POST /api/Framework/Auth/token``:
  * ``grant_type=urn:ietf:params:oauth:grant-type:device_code``: poll; once the user approved at the
    IdP, the IdP subject is looked up in ``/Registry/Users/<name>/ID`` and a core token is issued;
  * ``grant_type=client_credentials``: hosts and pilots authenticated by their client certificate
    (a ``/Registry/Hosts`` DN gets the host's properties, e.g. GenericPilot for pilot hosts; a user
    certificate gets the chosen or default group).
Errors of the token endpoint follow OAuth2 (``error``, ``error_description``) and also carry ``detail``.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from dirac_core.auth.authenticator import peer_dns_from_scope
from dirac_core.auth.idp import DEVICE_GRANT, IdPClient, PendingAuthorization, idp_settings
from dirac_core.auth.registry import Registry
from dirac_core.auth.settings import AUTHORIZATION, token_settings
from dirac_core.auth.tokens import ALGORITHM, TokenIssuer, load_signing_key
from dirac_core.contract.components import component_spec
from dirac_core.errors import ConfigError, DiracError
from dirac_core.services.component import ComponentContext, declared_component

ID_PROVIDER = component_spec("Framework/Auth").option("IdProvider")

_DEVICE_AUDIENCE_SUFFIX = ":device-code"


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description, "detail": description}, status_code=status)


def requested_group(scope: str | None) -> str | None:
    for item in (scope or "").split():
        if item.startswith("group:"):
            return item.partition(":")[2] or None
    return None


class TokenService:
    def __init__(self, ctx: ComponentContext) -> None:
        settings = token_settings(ctx.config)
        if settings.key_file is None:
            raise ConfigError(f"Framework/Auth signs tokens: set {AUTHORIZATION}/TokenKeyFile (0600 Ed25519 key)")
        self.issuer = TokenIssuer(load_signing_key(settings.key_file), settings)
        self.registry = Registry(ctx.config)
        self.ctx = ctx
        self._idp: IdPClient | None = None

    def idp(self) -> IdPClient:
        if self._idp is None:
            self._idp = IdPClient(idp_settings(self.ctx.config, self.ctx.declared(ID_PROVIDER)))
        return self._idp

    def token_response(self, token: str, group: str, username: str) -> dict[str, Any]:
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.issuer.settings.lifetime,
            "dirac_group": group,
            "preferred_username": username,
        }

    # device flow: the IdP device code travels inside a short JWT signed by this instance, so the
    # chosen group cannot be altered and the service keeps no state between requests.
    def wrap_device_code(self, idp_device_code: str, group: str | None, expires_in: int) -> str:
        now = int(time.time())
        claims = {
            "idp_device_code": idp_device_code,
            "group": group,
            "aud": self.issuer.settings.audience + _DEVICE_AUDIENCE_SUFFIX,
            "iat": now,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, self.issuer.key, algorithm=ALGORITHM)

    def unwrap_device_code(self, device_code: str) -> tuple[str, str | None]:
        claims = jwt.decode(
            device_code,
            self.issuer.key.public_key(),
            algorithms=[ALGORITHM],
            audience=self.issuer.settings.audience + _DEVICE_AUDIENCE_SUFFIX,
        )
        return str(claims["idp_device_code"]), claims.get("group")


def build_router(ctx: ComponentContext) -> APIRouter:
    service = TokenService(ctx)
    router = APIRouter()

    @router.post("/device", summary="Start a device-code login (RFC 8628) at the identity provider")
    def device(client_id: str = Form("dirac-cli"), scope: str = Form("")) -> dict[str, Any]:
        del client_id  # the core talks to the IdP with its own client id
        group = requested_group(scope)
        started = service.idp().start_device_authorization()
        expires_in = int(started.get("expires_in", 600))
        return {
            "device_code": service.wrap_device_code(str(started["device_code"]), group, expires_in),
            "user_code": started["user_code"],
            "verification_uri": started["verification_uri"],
            "verification_uri_complete": started.get("verification_uri_complete"),
            "expires_in": expires_in,
            "interval": int(started.get("interval", 5)),
        }

    @router.post("/token", summary="Token endpoint: device_code or client_credentials (client certificate)")
    def token(
        request: Request,
        grant_type: str = Form(...),
        device_code: str = Form(""),
        scope: str = Form(""),
    ) -> JSONResponse:
        try:
            if grant_type == DEVICE_GRANT:
                return _device_token(service, device_code)
            if grant_type == "client_credentials":
                dns = peer_dns_from_scope(request.scope)
                if not dns:
                    return oauth_error(
                        "invalid_client", "client_credentials needs a client certificate: connect with --cert", 401
                    )
                caller = service.registry.caller_for_dn(dns, requested_group(scope))
                body = service.token_response(service.issuer.issue_for(caller), caller.group, caller.username)
                return JSONResponse(body)
        except DiracError as exc:
            error = "invalid_client" if exc.http_status == 401 else "access_denied"
            return oauth_error(error, exc.message, exc.http_status)
        return oauth_error(
            "unsupported_grant_type",
            f"grant_type {grant_type!r} is not supported: use {DEVICE_GRANT} or client_credentials",
        )

    return router


def _device_token(service: TokenService, device_code: str) -> JSONResponse:
    try:
        idp_code, group = service.unwrap_device_code(device_code)
    except jwt.ExpiredSignatureError:
        return oauth_error("expired_token", "the device code expired: run dirac login again")
    except jwt.PyJWTError:
        return oauth_error("invalid_grant", "device_code was not issued by this instance: run dirac login again")
    try:
        claims = service.idp().poll_device_token(idp_code)
    except PendingAuthorization as pending:
        return oauth_error(pending.error, pending.description)
    subject = str(claims["sub"])
    user = service.registry.find_user_by_id(subject)
    if user is None:
        name = claims.get("preferred_username") or claims.get("email") or subject
        return oauth_error(
            "access_denied",
            f"identity {name} (subject {subject}) is not registered: ask the VO admin to add "
            f"ID = {subject} to your /Registry/Users/<name> entry",
            403,
        )
    caller = service.registry.user_caller(user, group, sub=subject)
    return JSONResponse(service.token_response(service.issuer.issue_for(caller), caller.group, caller.username))


AUTH = declared_component("Framework/Auth", build_router, rest_requires_auth=False)
