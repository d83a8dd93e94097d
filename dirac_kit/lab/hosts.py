"""Lab hosts: one container per inventory host, systemd as PID 1, reachable by SSH."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

from docker.errors import NotFound as DockerNotFound

from dirac_core.errors import Conflict, DiracError
from dirac_kit.lab.engine import Engine
from dirac_kit.lab.network import NETWORK
from dirac_kit.lab.paths import LabPaths

LABEL = "dirac.lab"
HOST_LABEL = "dirac.lab.host"


class HostError(DiracError):
    """A lab host did not come up."""


@dataclass
class HostState:
    name: str
    ip: str
    status: str  # container status: running, exited...
    systemd: str  # `systemctl is-system-running`, or "-" when not running
    image: str


def _run_options(engine: Engine) -> dict[str, Any]:
    if engine.is_podman:
        # Podman's systemd mode (command /sbin/init) mounts /run, /tmp and the cgroup tree itself.
        return {}
    # A Docker engine needs the classic systemd-in-docker settings.
    return {
        "privileged": True,
        "cgroupns": "host",
        "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        "tmpfs": {"/run": "", "/run/lock": "", "/tmp": ""},  # noqa: S108 - the container's /tmp,
    }


def lab_containers(engine: Engine) -> list[Any]:
    return list(engine.client.containers.list(all=True, filters={"label": f"{LABEL}=host"}))


def _get(engine: Engine, name: str) -> Any | None:
    try:
        return engine.client.containers.get(name)
    except DockerNotFound:
        return None


def ip_of(container: Any) -> str:
    networks = container.attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
    return str((networks.get(NETWORK) or {}).get("IPAddress") or "")


def start_host(engine: Engine, image: str, name: str, site: str, public_key: str) -> str:
    """Start (or keep) the container of ``name``; authorize the lab key; return its IP."""
    container = _get(engine, name)
    if container is not None and container.labels.get(LABEL) != "host":
        raise Conflict(f"a container named {name} exists and is not a lab host: remove it (podman rm -f {name})")
    if container is None:
        container = engine.client.containers.run(
            image,
            command=["/sbin/init"],
            name=name,
            hostname=name,
            detach=True,
            network=NETWORK,
            labels={LABEL: "host", HOST_LABEL: name, "dirac.lab.site": site},
            **_run_options(engine),
        )
    elif container.status != "running":
        container.start()
    deadline = time.monotonic() + 120
    state = ""
    while time.monotonic() < deadline:
        code, out = container.exec_run(["systemctl", "is-system-running", "--wait"])
        state = out.decode(errors="replace").strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    else:
        raise HostError(f"{name}: systemd did not finish booting ({state!r}): see `podman logs {name}`")
    code, out = container.exec_run(
        ["sh", "-c", 'umask 077 && mkdir -p /root/.ssh && printf "%s\\n" "$0" > /root/.ssh/authorized_keys', public_key]
    )
    if code != 0:
        raise HostError(f"{name}: could not install the lab SSH key: {out.decode(errors='replace').strip()}")
    container.reload()
    ip = ip_of(container)
    if not ip:
        raise HostError(f"{name}: no IP address on network {NETWORK}")
    return ip


def wait_ssh(paths: LabPaths, name: str, timeout: float = 60) -> None:
    """Wait until ``ssh name`` works from this machine (the controller), as Ansible will use it."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        proc = subprocess.run(
            ["ssh", "-F", str(paths.ssh_config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3", name, "true"],
            capture_output=True,
            text=True,
        )
        if proc.returncode == 0:
            return
        last = proc.stderr.strip()
        time.sleep(1)
    raise HostError(f"{name}: not reachable by SSH after {timeout:.0f} s: {last}")


def state_of(container: Any) -> HostState:
    systemd = "-"
    if container.status == "running":
        _code, out = container.exec_run(["systemctl", "is-system-running"])
        systemd = out.decode(errors="replace").strip() or "?"
    image = ",".join(container.image.tags) if container.image else "?"
    return HostState(container.name, ip_of(container), container.status, systemd, image)


def remove_hosts(engine: Engine) -> list[str]:
    removed = []
    for container in engine.client.containers.list(all=True, filters={"label": LABEL}):
        container.remove(force=True, v=True)
        removed.append(container.name)
    return removed
