"""`dirac-core serve --diset`-style listener (``DisetPort``) of a real service, driven at the protocol
level: DIRAC's proposal, arguments and replies, and what hostile or unauthenticated peers get."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from dirac_core.server.diset.framing import KEEP_ALIVE_MAGIC, Connection, frame
from dirac_core.server.local import INSTANCE
from tests.support.instance import LocalInstance, free_port, running_instance

SERVICE = "Demo/Items"
ENOAUTH = 1111


@pytest.fixture(scope="module")
def inst(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalInstance, int]]:
    port = free_port()
    extra = {"Systems": {"Demo": {INSTANCE: {"Services": {"Items": {"DisetPort": port, "MaxRequestSize": "64K"}}}}}}
    with running_instance(tmp_path_factory.mktemp("diset"), ["tests.support.demo:DEMO"], extra_cfg=extra) as instance:
        yield instance, port


def connect(inst: tuple[LocalInstance, int], cert: tuple[str, str] | None) -> ssl.SSLSocket:
    instance, port = inst
    context = ssl.create_default_context(cafile=instance.ca_file)
    if cert is not None:
        context.load_cert_chain(*cert)
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(sock, server_hostname="localhost")


def rpc(
    inst: tuple[LocalInstance, int],
    method: str,
    *args: Any,
    user: str | None = "alice",
    service: str = SERVICE,
    action: str = "RPC",
    extra_credentials: Any = "",
) -> dict[str, Any]:
    """One DIRAC RPC as BaseClient/InnerRPCClient send it; the proposal's refusal if there is one."""
    instance, _ = inst
    cert = instance.user_cert(user) if user not in (None, "localhost") else None
    if user == "localhost":
        cert = instance.host_cert()
    with connect(inst, cert) as tls:
        connection = Connection(tls, 1 << 20)
        proposal = [[service, "DIRAC-Local", "vo"], [action, method], extra_credentials, "v9"]
        connection.send({"OK": True, "Value": proposal})
        answer: dict[str, Any] = connection.receive()
        if not answer["OK"]:
            return answer
        connection.send({"OK": True, "Value": list(args)})
        result: dict[str, Any] = connection.receive()
        return result


def test_a_user_certificate_calls_the_method_table(inst: tuple[LocalInstance, int]) -> None:
    assert rpc(inst, "addItem", "diset-item")["OK"]
    count = rpc(inst, "countItems")
    assert count["OK"] and isinstance(count["Value"], int) and count["Value"] >= 1
    assert rpc(inst, "whoami")["Value"]["username"] == "alice"
    # Integer keys survive DEncode (JSON turns them into strings).
    assert rpc(inst, "getJobsStatus", [5, 6])["Value"] == {"5": {"Status": "Waiting"}, "6": {"Status": "Waiting"}}


def test_no_certificate_is_diracs_enoauth(inst: tuple[LocalInstance, int]) -> None:
    refused = rpc(inst, "countItems", user=None)
    assert not refused["OK"] and refused["Errno"] == ENOAUTH and "no credentials" in refused["Message"]


def test_trusted_host_acts_for_a_user(inst: tuple[LocalInstance, int]) -> None:
    instance, _ = inst
    alice_dn = instance.config.get("/Registry/Users/alice/DN")
    delegated = rpc(inst, "whoami", user="localhost", extra_credentials=[alice_dn, "dirac_user"])
    assert delegated["Value"]["username"] == "alice"
    refused = rpc(inst, "whoami", user="bob", extra_credentials=[alice_dn, "dirac_user"])
    assert not refused["OK"] and refused["Errno"] == ENOAUTH and "TrustedHost" in refused["Message"]


@pytest.mark.parametrize(
    ("kwargs", "args", "message"),
    [
        ({"service": "WorkloadManagement/JobManager"}, (), "is not up in this server"),
        ({"action": "FileTransfer"}, (), "not served over DISET"),
        ({}, (), "unknown method 'noSuchMethod'"),
        ({}, ("not", "an", "int"), "getItem"),
    ],
)
def test_bad_requests_get_an_s_error(
    inst: tuple[LocalInstance, int], kwargs: dict[str, Any], args: tuple[Any, ...], message: str
) -> None:
    method = "getItem" if args else "noSuchMethod"
    refused = rpc(inst, method, *args, **kwargs)
    assert not refused["OK"] and message in refused["Message"]


def test_a_failing_method_is_an_s_error_not_a_traceback(inst: tuple[LocalInstance, int]) -> None:
    failed = rpc(inst, "fail")
    assert not failed["OK"] and failed["Message"] == "internal error in Demo/Items.fail: see the service log"


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.1\r\n\r\n", b"99999999:" + b"x" * 10, b"12:xxxxxxxxxxxx", b"dka3:i1e"],
)
def test_garbage_closes_the_connection_and_the_server_goes_on(inst: tuple[LocalInstance, int], garbage: bytes) -> None:
    instance, _ = inst
    with connect(inst, instance.user_cert("alice")) as tls:
        tls.sendall(garbage)
        assert tls.recv(100) == b""  # closed without a reply
    assert rpc(inst, "countItems")["OK"]


def test_keep_alive_ping_is_answered(inst: tuple[LocalInstance, int]) -> None:
    instance, _ = inst
    with connect(inst, instance.user_cert("alice")) as tls:
        connection = Connection(tls, 1 << 20)
        tls.sendall(frame({"OK": True, "Value": {"id": "k1", "kaping": True}}, KEEP_ALIVE_MAGIC))
        tls.sendall(frame({"OK": True, "Value": [[SERVICE, "s", "vo"], ["RPC", "countItems"], "", "v"]}))
        pong = tls.recv(100)
        assert pong.startswith(KEEP_ALIVE_MAGIC) and b"k1" in pong
        assert connection.receive()["OK"]  # the proposal's S_OK


def test_json_payloads_of_diracs_mixed_encode_are_read(inst: tuple[LocalInstance, int]) -> None:
    instance, _ = inst
    proposal = b'{"OK": true, "Value": [["Demo/Items", "s", "vo"], ["RPC", "countItems"], "", "v9"]}'
    with connect(inst, instance.user_cert("alice")) as tls:
        tls.sendall(str(len(proposal)).encode() + b":" + proposal)
        connection = Connection(tls, 1 << 20)
        assert connection.receive()["OK"]
        args = b'{"OK": true, "Value": []}'
        tls.sendall(str(len(args)).encode() + b":" + args)
        assert connection.receive()["OK"]


def test_oversized_message_closes_the_connection(inst: tuple[LocalInstance, int]) -> None:
    instance, _ = inst
    with connect(inst, instance.user_cert("alice")) as tls:
        connection = Connection(tls, 1 << 20)
        connection.send({"OK": True, "Value": [[SERVICE, "s", "vo"], ["RPC", "addItem"], "", "v"]})
        assert connection.receive()["OK"]
        tls.sendall(frame({"OK": True, "Value": ["x" * 100_000]}))  # MaxRequestSize is 64K
        assert tls.recv(100) == b""
