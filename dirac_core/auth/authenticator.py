"""Turn request credentials (bearer token or verified client certificate) into a `Caller`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from cryptography import x509

from dirac_core.auth.caller import Caller
from dirac_core.auth.registry import Registry
from dirac_core.auth.tokens import TokenVerifier
from dirac_core.errors import Unauthorized
from dirac_core.x509.proxy import identity_dns

NO_CREDENTIALS = (
    "no credentials: send 'Authorization: Bearer <token>' (get one with dirac login) "
    "or present a client certificate registered in /Registry"
)


@lru_cache(maxsize=256)
def dns_of_pem(pem: str) -> tuple[str, ...]:
    """Identity DN candidates of a verified peer certificate (end-entity DNs for a proxy)."""
    return identity_dns(x509.load_pem_x509_certificate(pem.encode()))


def peer_dns_from_scope(scope: Mapping[str, Any]) -> tuple[str, ...]:
    """DN candidates of the TLS client certificate the server verified (ASGI TLS extension)."""
    tls = (scope.get("extensions") or {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if not chain or tls.get("client_cert_error"):
        return ()
    return dns_of_pem(chain[0])


def peer_dn_from_scope(scope: Mapping[str, Any]) -> str | None:
    """The most likely identity DN of the verified client certificate, if any."""
    candidates = peer_dns_from_scope(scope)
    return candidates[0] if candidates else None


class Authenticator:
    def __init__(self, registry: Registry, verifier: TokenVerifier | None) -> None:
        self.registry = registry
        self.verifier = verifier

    def authenticate(self, authorization: str | None, peer_dn: str | Sequence[str] | None) -> Caller:
        """A bearer token wins when sent (explicit beats ambient); else the client certificate."""
        if authorization:
            scheme, _, token = authorization.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("Authorization header must be 'Bearer <token>': get a token with dirac login")
            if self.verifier is None:
                raise Unauthorized("this service has no token key configured: use a client certificate")
            return self.verifier.verify(token.strip())
        if peer_dn:
            return self.registry.caller_for_dn(peer_dn)
        raise Unauthorized(NO_CREDENTIALS)
