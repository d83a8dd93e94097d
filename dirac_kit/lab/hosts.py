"""Lab hosts: one container per inventory host, systemd as PID 1, reachable by SSH."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from typing import Any

from docker.errors import NotFound as DockerNotFound

from dirac_core.errors import Conflict, DiracError
from dirac_kit.lab.engine import Engine
from dirac_kit.lab.paths import LabPaths

LABEL = "dirac.lab"  # value: the lab's name
ROLE_LABEL = "dirac.lab.role"  # host, or build for image build containers
HOST_LABEL = "dirac.lab.host"  # the inventory host name


class HostError(DiracError):
    """A lab host did not come up."""


@dataclass
class HostState:
    name: str
    ip: str
    status: str  # container status: running, exited...
    systemd: str  # `systemctl is-system-running`, or "-" when not running
    image: str
    site: str = "-"  # old or new (`lab up --site`)


def run_options(engine: Engine) -> dict[str, Any]:
    """Extra ``create_host_config`` arguments for systemd as PID 1 on this engine."""
    if engine.is_podman:
        # Podman's systemd mode (command /sbin/init) mounts /run, /tmp and the cgroup tree itself.
        return {}
    # A Docker engine needs the classic systemd-in-docker settings.
    return {
        "privileged": True,
        "cgroupns": "host",
        "binds": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        "tmpfs": {"/run": "", "/run/lock": "", "/tmp": ""},  # noqa: S108 - the container's /tmp,
    }


def lab_containers(engine: Engine, paths: LabPaths) -> list[Any]:
    labels = [f"{LABEL}={paths.name}", f"{ROLE_LABEL}=host"]
    return list(engine.client.containers.list(all=True, filters={"label": labels}))


def _get(engine: Engine, name: str) -> Any | None:
    try:
        return engine.client.containers.get(name)
    except DockerNotFound:
        return None


def ip_of(container: Any, network: str) -> str:
    networks = container.attrs.get("NetworkSettings", {}).get("Networks", {}) or {}
    return str((networks.get(network) or {}).get("IPAddress") or "")


def _create(engine: Engine, paths: LabPaths, image: str, name: str, site: str) -> Any:
    api = engine.client.api
    # Low-level API: the network alias (= inventory name) cannot be set through containers.run().
    created = api.create_container(
        image,
        command=["/sbin/init"],
        name=paths.container(name),
        hostname=name,
        labels={LABEL: paths.name, ROLE_LABEL: "host", HOST_LABEL: name, "dirac.lab.site": site},
        host_config=api.create_host_config(network_mode=paths.network, **run_options(engine)),
        networking_config=api.create_networking_config({paths.network: api.create_endpoint_config(aliases=[name])}),
    )
    api.start(created["Id"])
    return engine.client.containers.get(created["Id"])


def start_host(engine: Engine, paths: LabPaths, image: str, name: str, site: str, public_key: str) -> str:
    """Start (or keep) the container of host ``name``; authorize the lab key; return its IP."""
    cname = paths.container(name)
    container = _get(engine, cname)
    if container is not None and container.labels.get(LABEL) != paths.name:
        raise Conflict(f"a container named {cname} exists and is not a lab host: remove it (podman rm -f {cname})")
    if container is None:
        container = _create(engine, paths, image, name, site)
    elif container.status != "running":
        container.start()
    deadline = time.monotonic() + 120
    state = ""
    while time.monotonic() < deadline:
        # Bounded: a plain --wait blocks forever on a host whose boot stalled, past our deadline.
        code, out = container.exec_run(["timeout", "10", "systemctl", "is-system-running", "--wait"])
        state = out.decode(errors="replace").strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    else:
        raise HostError(
            f"{name}: systemd did not finish booting ({state!r}): see `podman exec {cname} systemctl list-jobs`;"
            " a stall with every job waiting usually means fs.inotify.max_user_instances is exhausted"
        )
    code, out = container.exec_run(
        ["sh", "-c", 'umask 077 && mkdir -p /root/.ssh && printf "%s\\n" "$0" > /root/.ssh/authorized_keys', public_key]
    )
    if code != 0:
        raise HostError(f"{name}: could not install the lab SSH key: {out.decode(errors='replace').strip()}")
    container.reload()
    ip = ip_of(container, paths.network)
    if not ip:
        raise HostError(f"{name}: no IP address on network {paths.network}")
    return ip


def wait_ssh(paths: LabPaths, name: str, timeout: float = 120) -> None:
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


def state_of(container: Any, paths: LabPaths) -> HostState:
    systemd = "-"
    if container.status == "running":
        _code, out = container.exec_run(["systemctl", "is-system-running"])
        systemd = out.decode(errors="replace").strip() or "?"
    image = "?"
    if container.image is not None:  # an image rebuilt since the host started has lost its tag
        image = ",".join(t.rsplit("/", 1)[-1] for t in container.image.tags) or container.image.short_id
    name = container.labels.get(HOST_LABEL, container.name)
    site = container.labels.get("dirac.lab.site", "-")
    return HostState(name, ip_of(container, paths.network), container.status, systemd, image, site)


def remove_hosts(engine: Engine, paths: LabPaths, only: set[str] | None = None) -> list[str]:
    """Remove the containers of this lab: all of them (with leftover build containers) or ``only`` these hosts."""
    removed = []
    for container in engine.client.containers.list(all=True, filters={"label": f"{LABEL}={paths.name}"}):
        if only is not None and container.labels.get(HOST_LABEL) not in only:
            continue
        container.remove(force=True, v=True)
        removed.append(container.name)
    return removed
