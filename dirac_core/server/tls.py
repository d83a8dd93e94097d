"""HTTPS with optional client certificates, and the peer certificate in the ASGI scope.

uvicorn verifies client certificates but does not pass them to the app. `TLSInfoProtocol` reads the
verified peer certificate when the connection is made and adds the ASGI TLS extension
(``scope["extensions"]["tls"]``, with ``client_cert_chain`` as PEM) to every request on it.
"""

from __future__ import annotations

import ssl
from typing import Any

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from dirac_core.auth.settings import TLSSettings

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def server_ssl_context(settings: TLSSettings) -> ssl.SSLContext:
    """TLS >= 1.2, host cert/key, CAs from CAFile and/or CAPath, client certificates optional
    (token-only clients connect too; a presented certificate or RFC 3820 proxy must verify)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(settings.cert_file), keyfile=str(settings.key_file))
    context.load_verify_locations(
        cafile=str(settings.ca_file) if settings.ca_file else None,
        capath=str(settings.ca_path) if settings.ca_path else None,
    )
    context.verify_mode = ssl.CERT_OPTIONAL
    # Grid clients (users, pilots) present RFC 3820 proxies signed by their certificate.
    context.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return context


def tls_extension(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> dict[str, Any]:
    der = ssl_object.getpeercert(binary_form=True)
    chain = [ssl.DER_cert_to_PEM_cert(der)] if der else []
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class TLSInfoProtocol(H11Protocol):
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return
        tls = tls_extension(ssl_object)
        inner = self.app

        async def app_with_tls(scope: Scope, receive: Receive, send: Send) -> None:
            extensions = scope.get("extensions") or {}
            extensions["tls"] = tls
            scope["extensions"] = extensions
            await inner(scope, receive, send)

        self.app = app_with_tls
