"""Serve one component's RPC methods over DISET: TLS with client certificates (RFC 3820 proxies
included), DIRAC's action proposal, the arguments, the S_OK/S_ERROR reply (DIRAC's Service and
RequestHandler, for action type ``RPC``).

One connection carries one action, as DIRAC clients do:

1. TLS handshake (the server's HTTPS context: the same CAs, proxies allowed);
2. the client proposes ``S_OK([[System/Service, setup, vo], [action type, method], extraCredentials,
   version])``; the server answers ``S_OK()`` or an ``S_ERROR`` (unauthenticated: DIRAC's ENOAUTH,
   which DIRAC clients do not retry) and closes;
3. the client sends ``S_OK([args...])``; the server runs the method through the same `RpcTable` as
   the HTTPS form (lookup, delegation, argument checks) and sends the result, then closes.

A thread per connection (DIRAC's model; the methods are blocking), at most `max_workers` at once;
every read has a timeout, so a silent or slow peer cannot hold a worker for long.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import ssl
import threading
from dataclasses import dataclass
from typing import Any

from dirac_core.auth.authenticator import Authenticator, dns_of_pem
from dirac_core.auth.caller import Caller
from dirac_core.dencode import DEncodeError
from dirac_core.errors import DiracError, Forbidden, Unauthorized
from dirac_core.server.diset.framing import Connection, FramingError
from dirac_core.server.dispatch import RpcTable

log = logging.getLogger("dirac_core.diset")

ENOAUTH = 1111  # DIRAC's DErrno.ENOAUTH: "Unauthorized query"; clients give up instead of retrying
PROPOSAL_MAX_SIZE = 16384  # DIRAC reads the proposal with a 1024-byte limit; a long DN pair still fits here


def s_error(message: str, errno: int = 0, error_type: str = "DiracError") -> dict[str, Any]:
    """DIRAC's S_ERROR (Errno, and its "<strerror> ( <errno> : <message>)" text when Errno is set)."""
    if errno == ENOAUTH:
        message = f"Unauthorized query ( {ENOAUTH} : {message})"
    return {"OK": False, "Errno": errno, "Message": message, "ErrorType": error_type}


def error_of(exc: DiracError) -> dict[str, Any]:
    errno = ENOAUTH if isinstance(exc, Unauthorized | Forbidden) else 0
    return s_error(exc.message, errno, type(exc).__name__)


@dataclass(frozen=True)
class DisetSettings:
    component_name: str
    table: RpcTable
    authenticator: Authenticator
    ssl_context: ssl.SSLContext
    max_message_size: int
    timeout: float = 600.0  # seconds a read or the TLS handshake may wait (DIRAC's RPC timeout)
    max_workers: int = 64


class _Handler(socketserver.BaseRequestHandler):
    server: DisetServer

    def handle(self) -> None:
        settings = self.server.settings
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        if not self.server.workers.acquire(blocking=False):
            log.warning("[%s] DISET connection refused: all %d workers busy", peer, settings.max_workers)
            return
        try:
            sock: socket.socket = self.request
            sock.settimeout(settings.timeout)
            try:
                tls = settings.ssl_context.wrap_socket(sock, server_side=True)
            except (OSError, ssl.SSLError) as exc:
                log.info("[%s] DISET TLS handshake failed: %s", peer, exc)
                return
            with tls:
                serve_connection(settings, tls, peer)
        finally:
            self.server.workers.release()


def serve_connection(settings: DisetSettings, tls: ssl.SSLSocket, peer: str) -> None:
    connection = Connection(tls, settings.max_message_size)
    try:
        proposal = connection.receive(PROPOSAL_MAX_SIZE)
        method_name, extra_credentials, refusal = check_proposal(settings.component_name, proposal)
        if refusal is not None:
            log.info("[%s] DISET proposal refused: %s", peer, refusal["Message"])
            connection.send(refusal)
            return
        try:
            caller = authenticate(settings.authenticator, tls)
        except DiracError as exc:
            log.info("[%s] DISET %s.%s refused: %s", peer, settings.component_name, method_name, exc.message)
            connection.send(error_of(exc))
            return
        connection.send({"OK": True, "Value": None})
        reply = run_call(settings, caller, method_name, connection.receive(), extra_credentials, peer)
        try:
            connection.send(reply)
        except DEncodeError as exc:
            log.error("DISET %s.%s: cannot send the result: %s", settings.component_name, method_name, exc)
            connection.send(s_error(f"{settings.component_name}.{method_name}: the result cannot travel over DISET"))
    except FramingError as exc:
        log.info("[%s] DISET connection closed: %s", peer, exc)
    except (OSError, ssl.SSLError) as exc:  # timeouts, resets
        log.info("[%s] DISET connection lost: %s", peer, exc)


def check_proposal(component_name: str, proposal: Any) -> tuple[str, Any, dict[str, Any] | None]:
    """(method, extraCredentials, None) for an RPC proposal to this service, else the S_ERROR to send."""
    value = proposal.get("Value") if isinstance(proposal, dict) and proposal.get("OK") else None
    if not (isinstance(value, list | tuple) and len(value) >= 3):
        return "", None, s_error("Invalid action proposal: expected S_OK([[service, setup, vo], [type, name], creds])")
    service_info, action, extra_credentials = value[0], value[1], value[2]
    if not (isinstance(service_info, list | tuple) and service_info and isinstance(service_info[0], str)):
        return "", None, s_error("Invalid action proposal: the first item must be [System/Service, setup, vo]")
    if service_info[0] != component_name:
        return "", None, s_error(f"{service_info[0]} is not up in this server (it serves {component_name})")
    if not (isinstance(action, list | tuple) and len(action) == 2 and all(isinstance(a, str) for a in action)):
        return "", None, s_error("Invalid action proposal: the action must be [type, name]")
    action_type, method_name = action
    if action_type != "RPC":
        known = "RPC" if action_type in ("FileTransfer", "Connection") else "RPC, FileTransfer, Connection"
        return "", None, s_error(f"{action_type} is not served over DISET by dirac_core yet (served: {known})")
    return method_name, extra_credentials, None


def authenticate(authenticator: Authenticator, tls: ssl.SSLSocket) -> Caller:
    """The caller of the verified client certificate (or proxy), as the HTTPS path does."""
    der = tls.getpeercert(binary_form=True)
    dns = dns_of_pem(ssl.DER_cert_to_PEM_cert(der)) if der else ()
    return authenticator.authenticate(None, dns)


def run_call(
    settings: DisetSettings, caller: Caller, method_name: str, message: Any, extra_credentials: Any, peer: str
) -> dict[str, Any]:
    table = settings.table
    try:
        if not (isinstance(message, dict) and message.get("OK") and "Value" in message):
            return s_error(f"Invalid RPC arguments of {method_name}: expected S_OK([args...])")
        registry = lambda: settings.authenticator.registry  # noqa: E731 - read only to delegate
        call = table.prepare(registry, caller, method_name, message["Value"], extra_credentials)
    except DiracError as exc:
        log.info("[%s] %s.%s refused before the call: %s", peer, table.component_name, method_name, exc.message)
        return error_of(exc)
    try:
        with table.audited(call):
            return {"OK": True, "Value": call.method(call.caller, *call.args)}
    except DiracError as exc:
        return error_of(exc)
    except Exception:
        log.exception("DISET RPC %s.%s failed", table.component_name, method_name)
        return s_error(f"internal error in {table.component_name}.{method_name}: see the service log")


class DisetServer(socketserver.ThreadingTCPServer):
    """`serve_forever` in a thread; `shutdown` stops accepting (calls in flight finish on their own)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], settings: DisetSettings) -> None:
        self.settings = settings
        self.workers = threading.BoundedSemaphore(settings.max_workers)
        super().__init__(address, _Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name=f"diset-{self.settings.component_name}", daemon=True)
        thread.start()
        return thread
