"""TLS behaviour of `dirac-core serve`: untrusted client certificates, graceful shutdown."""

from __future__ import annotations

import signal
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dirac_core.client.http import ServiceClient, make_ssl_context
from dirac_core.x509.certs import create_ca, issue_user_certificate, write_certificate, write_private_key
from tests.support.instance import LocalInstance, running_instance

NAME = "Demo/Items"


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalInstance]:
    with running_instance(tmp_path_factory.mktemp("tls"), ["tests.support.demo:DEMO"]) as inst:
        yield inst


def test_certificate_from_another_ca_is_refused_at_handshake(instance: LocalInstance, tmp_path: Path) -> None:
    rogue_ca, rogue_key = create_ca("Rogue CA")
    cert, key = issue_user_certificate(rogue_ca, rogue_key, "alice")  # same name, wrong CA
    write_certificate(tmp_path / "c.pem", cert)
    write_private_key(tmp_path / "k.pem", key)
    with (
        httpx.Client(
            verify=make_ssl_context((str(tmp_path / "c.pem"), str(tmp_path / "k.pem")), instance.ca_file)
        ) as h,
        pytest.raises((httpx.TransportError, ssl.SSLError)),
    ):
        h.post(instance.url(NAME), data={"method": "whoami", "args": "[]"}).raise_for_status()


def test_server_certificate_is_verified_by_the_client(instance: LocalInstance, tmp_path: Path) -> None:
    other_ca, _ = create_ca("Other CA")
    write_certificate(tmp_path / "other.pem", other_ca)
    with (
        ServiceClient(instance.url(NAME), token=instance.token(), ca_bundle=str(tmp_path / "other.pem")) as client,
        pytest.raises(Exception, match="cannot reach"),
    ):
        client.rpc("ping")


def test_sigterm_lets_in_flight_requests_finish(tmp_path: Path) -> None:
    with running_instance(tmp_path, ["tests.support.demo:DEMO"]) as own:
        _check_graceful_stop(own)


def _check_graceful_stop(instance: LocalInstance) -> None:
    results: list[object] = []

    def slow_call() -> None:
        with instance.client(NAME, user="alice") as client:
            results.append(client.rpc("slowEcho", "done", 2.0))

    worker = threading.Thread(target=slow_call)
    worker.start()
    import time

    time.sleep(0.8)  # the request is being served
    process = instance.processes[NAME]
    process.popen.send_signal(signal.SIGTERM)
    worker.join(30)
    assert results == ["done"]
    assert process.popen.wait(30) == 0


def _write_proxy(tmp_path: Path, name: str, pem: bytes) -> tuple[str, str]:
    path = tmp_path / name
    path.write_bytes(pem)
    path.chmod(0o600)
    return str(path), str(path)


def test_rfc3820_proxies_authenticate_as_their_owner(instance: LocalInstance, tmp_path: Path) -> None:
    from cryptography import x509

    from dirac_core.x509.certs import load_certificate, load_private_key
    from dirac_core.x509.proxy import create_proxy

    cert_file, key_file = instance.user_cert("alice")
    user_cert, user_key = load_certificate(Path(cert_file)), load_private_key(Path(key_file))
    proxy_pem = create_proxy(user_cert, user_key, hours=1)
    proxy = _write_proxy(tmp_path, "proxy.pem", proxy_pem)
    with instance.client(NAME, cert=proxy) as client:
        assert client.rpc("whoami")["username"] == "alice"
    # A proxy of that proxy (delegation, as pilots get them).
    first = x509.load_pem_x509_certificate(proxy_pem)
    from cryptography.hazmat.primitives import serialization

    first_key = serialization.load_pem_private_key(proxy_pem, password=None)
    second = _write_proxy(tmp_path, "proxy2.pem", create_proxy(first, first_key, chain=(user_cert,)))  # type: ignore[arg-type]
    with instance.client(NAME, cert=second) as client:
        assert client.rpc("whoami")["username"] == "alice"


def test_proxy_signed_by_a_stranger_is_refused(instance: LocalInstance, tmp_path: Path) -> None:
    from dirac_core.x509.certs import load_certificate
    from dirac_core.x509.proxy import create_proxy

    alice_cert = load_certificate(Path(instance.user_cert("alice")[0]))
    stranger_key = create_ca()[1]  # any key that is not alice's
    forged = _write_proxy(tmp_path, "forged.pem", create_proxy(alice_cert, stranger_key, hours=1))
    with (
        httpx.Client(verify=make_ssl_context(forged, instance.ca_file)) as http,
        pytest.raises((httpx.TransportError, ssl.SSLError)),
    ):
        http.post(instance.url(NAME), data={"method": "whoami", "args": "[]"}).raise_for_status()
