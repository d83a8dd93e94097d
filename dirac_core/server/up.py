"""`dirac-core up`: a whole instance on localhost for newcomers (and the demo).

Creates (or reuses) a state directory with a CA, a localhost host certificate, the token key, a
``dirac.cfg`` with SQLite databases for every component, runs the test IdP and every registered
component as its own ``dirac-core serve`` process, waits until each answers ``/health``, prints the
URLs and how to log in, and stops all children on Ctrl-C/SIGTERM (or when one of them dies).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console
from rich.table import Table

from dirac_core.client.http import make_ssl_context
from dirac_core.errors import ConfigError, ServiceUnavailable
from dirac_core.server.local import IDP_NAME, LocalLayout, local_config_text, prepare_credentials
from dirac_core.services.component import Component

TEST_IDP_DEFAULT_PORT = 9141
DEFAULT_REGISTRY = "dirac_core.services.installed:all_components"

console = Console(stderr=True)


def dirac_core_executable() -> list[str]:
    """Children run the same installation as the parent."""
    script = Path(sys.executable).parent / "dirac-core"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from dirac_core.cli.admin import main; main()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    health_url: str

    def tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def assign_ports(components: Mapping[str, Component], port_base: int | None) -> dict[str, int]:
    """Default DIRAC ports, or `port_base`+i, or any free ports when `port_base` is 0."""
    names = [*sorted(components), IDP_NAME]
    if port_base is None:
        ports = {name: components[name].default_port for name in components}
        ports[IDP_NAME] = TEST_IDP_DEFAULT_PORT
        return ports
    if port_base == 0:
        return {name: free_port() for name in names}
    return {name: port_base + index for index, name in enumerate(names)}


class Supervisor:
    def __init__(self, layout: LocalLayout) -> None:
        self.layout = layout
        self.children: list[Child] = []
        self.stopping = False

    def spawn(self, name: str, args: list[str], health_url: str) -> Child:
        log = self.layout.log_dir / f"{name.replace('/', '_')}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [*dirac_core_executable(), *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        child = Child(name, popen, log, health_url)
        self.children.append(child)
        (self.layout.root / "run").mkdir(exist_ok=True)
        (self.layout.root / "run" / f"{name.replace('/', '_')}.pid").write_text(f"{popen.pid}\n")
        return child

    def wait_healthy(self, timeout: float) -> None:
        pending = list(self.children)
        deadline = time.monotonic() + timeout
        verify = make_ssl_context(None, str(self.layout.ca_cert))
        with httpx.Client(verify=verify, timeout=5) as http, console.status("starting services...") as status:
            while pending:
                for child in list(pending):
                    if child.popen.poll() is not None:
                        raise ServiceUnavailable(
                            f"{child.name} exited with status {child.popen.returncode} "
                            f"(log {child.log}):\n{child.tail()}"
                        )
                    with contextlib.suppress(httpx.TransportError):
                        if http.get(child.health_url).status_code in (200, 503):
                            pending.remove(child)
                            status.update(f"starting services... {len(pending)} left")
                if time.monotonic() > deadline:
                    names = ", ".join(c.name for c in pending)
                    raise ServiceUnavailable(f"not healthy after {timeout:.0f}s: {names}: see {self.layout.log_dir}")
                time.sleep(0.2)

    def first_dead(self) -> Child | None:
        return next((c for c in self.children if c.popen.poll() is not None), None)

    def stop_all(self, timeout: float = 20) -> None:
        for child in self.children:
            if child.popen.poll() is None:
                child.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.popen.wait(max(0.1, deadline - time.monotonic()))
            if child.popen.poll() is None:
                child.popen.kill()
                child.popen.wait(5)
        for pid_file in (self.layout.root / "run").glob("*.pid"):
            pid_file.unlink(missing_ok=True)


def load_registry(ref: str) -> dict[str, Component]:
    from dirac_core.plugins import import_object

    found = import_object(ref)
    components = found() if callable(found) else found
    if isinstance(components, Mapping):
        components = list(components.values())
    result = {c.name: c for c in components if isinstance(c, Component)}
    if not result:
        raise ConfigError(f"registry {ref} lists no components")
    return result


def run_up(
    state_dir: Path,
    *,
    registry: str = DEFAULT_REGISTRY,
    port_base: int | None = None,
    only: tuple[str, ...] = (),
    check: bool = False,
    health_timeout: float = 90,
    db_init: Callable[[Path], None] | None = None,
) -> None:
    components = load_registry(registry)
    if only:
        unknown = sorted(set(only) - set(components))
        if unknown:
            raise ConfigError(f"unknown component(s) {', '.join(unknown)}: known are {', '.join(sorted(components))}")
        components = {name: components[name] for name in only}
    layout = LocalLayout(state_dir.resolve())
    console.print(f"state directory: {layout.root}")
    prepare_credentials(layout)
    ports = assign_ports(components, port_base)
    # DISET (dips://) listens next to HTTPS on a free port: DIRAC's classic ports are HTTPS's here.
    diset_ports = {name: free_port() for name in components}
    idp_url = f"https://127.0.0.1:{ports[IDP_NAME]}"
    layout.cfg_file.write_text(
        local_config_text(layout, components.values(), ports, idp_url=idp_url, diset_ports=diset_ports)
    )
    if db_init is not None:
        db_init(layout.cfg_file)

    supervisor = Supervisor(layout)
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        cert, key = str(layout.host_cert), str(layout.host_key)
        supervisor.spawn(
            IDP_NAME,
            ["test-idp", "--port", str(ports[IDP_NAME]), "--cert", cert, "--key", key],
            f"{idp_url}/.well-known/openid-configuration",
        )
        for name in sorted(components):
            port = ports[name]
            args = ["serve", name, "--cfg", str(layout.cfg_file), "--host", "127.0.0.1", "--port", str(port)]
            if registry != DEFAULT_REGISTRY:
                args += ["--registry", registry]
            supervisor.spawn(name, args, f"https://127.0.0.1:{port}/health")
        supervisor.wait_healthy(health_timeout)
        _print_ready(layout, components, ports, diset_ports, idp_url)
        if check:
            return
        while not received:
            dead = supervisor.first_dead()
            if dead is not None:
                raise ServiceUnavailable(f"{dead.name} stopped (status {dead.popen.returncode}):\n{dead.tail()}")
            time.sleep(0.3)
        console.print("stopping...")
    finally:
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("all services stopped")


def _print_ready(
    layout: LocalLayout,
    components: Mapping[str, Component],
    ports: Mapping[str, int],
    diset_ports: Mapping[str, int],
    idp: str,
) -> None:
    table = Table(title="dirac-core up: services")
    table.add_column("component")
    table.add_column("URL")
    table.add_column("DISET URL")
    for name in sorted(components):
        table.add_row(name, f"https://127.0.0.1:{ports[name]}/{name}", f"dips://127.0.0.1:{diset_ports[name]}/{name}")
    table.add_row("test IdP", idp, "")
    console.print(table)
    console.print(
        "Log in:\n"
        f"  export DIRAC_CFG={layout.cfg_file}\n"
        "  dirac login            # then open the printed URL and approve as alice (or bob, admin)\n"
        "  dirac whoami\n"
        f"Logs: {layout.log_dir}. Press Ctrl-C to stop."
    )
    # One machine-readable line on stdout for scripts and tests.
    print(f"READY {layout.cfg_file}", flush=True)
    os.environ.setdefault("DIRAC_CFG", str(layout.cfg_file))
