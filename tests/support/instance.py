"""Start real dirac_core services for a test: certificates, dirac.cfg, `dirac-core serve` subprocesses.

    from tests.support.instance import running_instance

    def test_something(tmp_path):
        with running_instance(tmp_path, ["WorkloadManagement/JobManager"]) as inst:
            with inst.client("WorkloadManagement/JobManager", user="alice") as client:
                client.rpc("submitJob", jdl)

Components are ``System/Service`` names from the registry or ``module:ATTRIBUTE`` for components
defined in tests. Each gets a free port; the cfg lists every URL, so services can call each other.
Users/groups/hosts are those of `dirac_core.server.local` (alice, bob: dirac_user; admin:
dirac_admin; pilot: dirac_pilot; hosts localhost (TrustedHost) and pilot.localhost (GenericPilot)).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import URL

from dirac_core.auth.registry import Registry
from dirac_core.auth.settings import token_settings
from dirac_core.auth.tokens import TokenIssuer, load_signing_key
from dirac_core.cli.server import resolve_component
from dirac_core.client.http import ServiceClient, make_ssl_context
from dirac_core.config.cfg import Config
from dirac_core.server.local import LocalLayout, local_config_text, prepare_credentials
from dirac_core.services.component import Component

TEST_IDP = "TestIdP"
ROOT = Path(__file__).resolve().parents[2]
DIRAC_CORE = str(Path(sys.executable).parent / "dirac-core")


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for bind(0) is also the kind
# it gives outgoing connections, which can take it before the service binds it (seen: Errno 98).
_PORT_RANGE = (20000, 32000)
_handed_out: set[int] = set()  # never the same port twice in one test run (they are closed until served)


def free_port() -> int:
    for _ in range(200):
        port = random.randint(*_PORT_RANGE)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:  # that whole range busy: let the kernel choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subprocess_env() -> dict[str, str]:
    """Environment for child processes: the repo importable (components defined under tests/)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return int(self.popen.returncode)


@dataclass
class LocalInstance:
    layout: LocalLayout
    components: dict[str, Component]
    ports: dict[str, int]
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def cfg_file(self) -> Path:
        return self.layout.cfg_file

    @property
    def ca_file(self) -> str:
        return str(self.layout.ca_cert)

    @property
    def config(self) -> Config:
        return Config.from_files([self.cfg_file])

    def url(self, component: str) -> str:
        return f"https://127.0.0.1:{self.ports[component]}/{component}"

    def base_url(self, component: str) -> str:
        return f"https://127.0.0.1:{self.ports[component]}"

    # -- credentials -------------------------------------------------------------------------
    def issuer(self) -> TokenIssuer:
        settings = token_settings(self.config)
        assert settings.key_file is not None
        return TokenIssuer(load_signing_key(settings.key_file), settings)

    def token(self, user: str = "alice", group: str | None = None, lifetime: int | None = None) -> str:
        """A valid token for a Registry user (default group unless `group`)."""
        caller = Registry(self.config).user_caller(user, group)
        return self.issuer().issue_for(caller, lifetime)

    def admin_token(self) -> str:
        return self.token("admin", "dirac_admin")

    def pilot_token(self) -> str:
        return self.token("pilot", "dirac_pilot")

    def host_token(self, host: str = "localhost") -> str:
        registry = Registry(self.config)
        dn = self.config.get(f"/Registry/Hosts/{host}/DN")
        return self.issuer().issue_for(registry.host_caller(host, dn))

    def user_cert(self, user: str) -> tuple[str, str]:
        cert, key = self.layout.user_cert(user)
        return str(cert), str(key)

    def host_cert(self, host: str = "localhost") -> tuple[str, str]:
        if host == "localhost":
            return str(self.layout.host_cert), str(self.layout.host_key)
        cert, key = self.layout.extra_host_cert(host)
        return str(cert), str(key)

    def client(
        self,
        component: str,
        *,
        user: str | None = None,
        group: str | None = None,
        token: str | None = None,
        cert: tuple[str, str] | None = None,
    ) -> ServiceClient:
        """A ServiceClient: as `user` (token), with an explicit `token`, or with a client `cert`."""
        if user is not None:
            token = self.token(user, group)
        return ServiceClient(self.url(component), token=token, cert=cert, ca_bundle=self.ca_file)

    def http(self, cert: tuple[str, str] | None = None) -> httpx.Client:
        """A raw httpx client trusting the instance CA (for protocol-level tests)."""
        return httpx.Client(verify=make_ssl_context(cert, self.ca_file), timeout=30)

    # -- processes ---------------------------------------------------------------------------
    def start(self, component: str, ref: str, timeout: float = 60) -> None:
        log = self.layout.log_dir / f"{component.replace('/', '_')}.log"
        cmd = [DIRAC_CORE, "serve", ref, "--cfg", str(self.cfg_file), "--host", "127.0.0.1"]
        cmd += ["--port", str(self.ports[component])]
        with log.open("ab") as out:
            popen = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env(), cwd=ROOT)
        process = Process(component, popen, log)
        self.processes[component] = process
        wait_healthy(self.base_url(component), self.ca_file, process, timeout)

    def start_test_idp(self, extra_users: Mapping[str, str], timeout: float = 60) -> None:
        log = self.layout.log_dir / "TestIdP.log"
        cmd = [DIRAC_CORE, "test-idp", "--port", str(self.ports[TEST_IDP]), "--interval", "1"]
        for name, subject in extra_users.items():
            cmd += ["--user", f"{name}={subject}"]
        cmd += ["--cert", str(self.layout.host_cert), "--key", str(self.layout.host_key)]
        with log.open("ab") as out:
            popen = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=subprocess_env(), cwd=ROOT)
        process = Process(TEST_IDP, popen, log)
        self.processes[TEST_IDP] = process
        wait_healthy(self.idp_url, self.ca_file, process, timeout, path="/.well-known/openid-configuration")

    @property
    def idp_url(self) -> str:
        return f"https://127.0.0.1:{self.ports[TEST_IDP]}"

    def approve_device_login(self, user_code: str, username: str) -> None:
        """What the user does in the browser: approve `user_code` at the test IdP as `username`."""
        with self.http() as http:
            reply = http.post(f"{self.idp_url}/device/approve", data={"user_code": user_code, "username": username})
        reply.raise_for_status()

    def stop_all(self) -> dict[str, int]:
        return {name: process.stop() for name, process in reversed(list(self.processes.items()))}


def wait_healthy(base_url: str, ca_file: str, process: Process, timeout: float = 60, path: str = "/health") -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(verify=make_ssl_context(None, ca_file), timeout=5) as http:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if http.get(f"{base_url}{path}").status_code in (200, 503):
                    return
            time.sleep(0.1)
    raise RuntimeError(f"{process.name} not healthy after {timeout}s:\n{process.log_tail()}")


@contextlib.contextmanager
def running_instance(
    tmp_path: Path,
    components: Sequence[str],
    *,
    db_urls: Mapping[tuple[str, str], str | URL] | None = None,
    extra_cfg: Mapping[str, Any] | None = None,
    with_test_idp: bool = False,
    idp_only_users: Mapping[str, str] | None = None,
    before_start: Sequence[Sequence[str]] = (),
) -> Iterator[LocalInstance]:
    """Write certs + dirac.cfg under `tmp_path`/instance and serve `components`; stop them after.

    `idp_only_users` (name -> subject) exist at the test IdP but not in the Registry.
    `with_test_idp` also runs ``dirac-core test-idp`` (users alice, bob, admin, pilot) and points
    ``/Resources/IdProviders/TestIdP`` at it: `LocalInstance.approve_device_login` plays the user.
    `before_start` commands (e.g. ``["dirac-core", "db", "init"]``) run with ``--cfg <cfg>`` appended,
    after the cfg is written and before services start (schema creation).
    """
    layout = LocalLayout(tmp_path / "instance")
    prepare_credentials(layout)
    resolved = [(ref, resolve_component(ref)) for ref in components]
    by_name = {component.name: component for _ref, component in resolved}
    ports = {name: free_port() for name in by_name}
    idp_url = None
    if with_test_idp:
        ports[TEST_IDP] = free_port()
        idp_url = f"https://127.0.0.1:{ports[TEST_IDP]}"
    layout.cfg_file.write_text(
        local_config_text(layout, by_name.values(), ports, db_urls=db_urls, idp_url=idp_url, extra=extra_cfg)
    )
    instance = LocalInstance(layout, by_name, ports)
    try:
        if with_test_idp:
            instance.start_test_idp(extra_users=idp_only_users or {})
        for command in before_start:
            # "dirac-core" means this venv's script, whatever PATH says.
            argv = [DIRAC_CORE, *command[1:]] if command[0] == "dirac-core" else list(command)
            subprocess.run([*argv, "--cfg", str(layout.cfg_file)], check=True, env=subprocess_env(), cwd=ROOT)
        for ref, component in resolved:
            instance.start(component.name, ref)
        yield instance
    finally:
        instance.stop_all()
