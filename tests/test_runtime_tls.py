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
from dirac_core.security.certs import create_ca, issue_user_certificate, write_certificate, write_private_key
from tests.support.instance import LocalInstance, running_instance

NAME = "Demo/Items"


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[LocalInstance]:
    with running_instance(tmp_path, ["tests.support.demo:DEMO"]) as inst:
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


def test_sigterm_lets_in_flight_requests_finish(instance: LocalInstance) -> None:
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
