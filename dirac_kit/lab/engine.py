"""Connection to a container engine through the docker SDK.

A Docker engine is used when one answers (DOCKER_HOST or the default socket). Otherwise the lab
starts Podman's Docker-compatible API service itself, with the project's containers.conf, and
remembers its PID so that `lab down` stops only what the lab started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException

from dirac_core.errors import DiracError
from dirac_kit.lab.paths import LabPaths

PODMAN_SOCKET = "/run/podman/podman.sock"
DOCKER_SOCKET = "/var/run/docker.sock"


class EngineError(DiracError):
    """No container engine could be reached or started."""


@dataclass
class Engine:
    client: Any  # docker.DockerClient (untyped SDK)
    base_url: str
    is_podman: bool
    started_service: bool


def _try(base_url: str) -> Any | None:
    try:
        client = docker.DockerClient(base_url=base_url, timeout=120)
        client.ping()
    except (DockerException, OSError):
        return None
    return client


def _is_podman(client: Any) -> bool:
    version = client.version()
    return any("podman" in str(c.get("Name", "")).lower() for c in version.get("Components", []))


def _service_pid(paths: LabPaths) -> int | None:
    try:
        pid = int(paths.service_pid.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def connect(paths: LabPaths, start: bool = True) -> Engine:
    """Connect to Docker if it answers, else to (a lab-started) Podman API service."""
    if os.environ.get("DOCKER_HOST"):
        url = os.environ["DOCKER_HOST"]
        client = _try(url)
        if client is None:
            raise EngineError(f"DOCKER_HOST={url} does not answer: start that engine or unset DOCKER_HOST")
        return Engine(client, url, _is_podman(client), False)
    if Path(DOCKER_SOCKET).exists() and Path(DOCKER_SOCKET).resolve() != Path(PODMAN_SOCKET):
        client = _try(f"unix://{DOCKER_SOCKET}")
        if client is not None:
            return Engine(client, f"unix://{DOCKER_SOCKET}", _is_podman(client), False)
    url = f"unix://{PODMAN_SOCKET}"
    with _service_lock():  # two `lab up` at once (tests beside a user's lab) start one service
        client = _try(url)
        if client is not None:
            runtime = client.info().get("DefaultRuntime")
            if runtime != "runc":
                # Someone started the service without the project's containers.conf: crun fails here.
                raise EngineError(
                    f"the podman service on {url} uses runtime {runtime!r}, not runc: stop it and let "
                    f"`dirac-kit lab up` start it (CONTAINERS_CONF={paths.containers_conf})"
                )
            return Engine(client, url, True, _service_pid(paths) is not None)
        if not start:
            raise EngineError("no container engine is running (the lab is down)")
        return Engine(_start_podman_service(paths, url), url, True, True)


@contextlib.contextmanager
def _service_lock() -> Iterator[None]:
    lock = Path(PODMAN_SOCKET).parent / "dirac-kit.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _start_podman_service(paths: LabPaths, url: str) -> Any:
    if subprocess.run(["which", "podman"], capture_output=True).returncode != 0:
        raise EngineError("neither Docker nor podman is available: run scripts/setup.sh (installs podman and runc)")
    Path(PODMAN_SOCKET).parent.mkdir(parents=True, exist_ok=True)
    paths.service_log.parent.mkdir(parents=True, exist_ok=True)
    log = paths.service_log.open("ab")
    # --time=0: the service stays until `lab down` stops it (otherwise it exits when idle).
    proc = subprocess.Popen(
        ["podman", "system", "service", "--time=0", url],
        env=paths.container_env(),
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    paths.service_pid.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        client = _try(url)
        if client is not None:
            return client
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    raise EngineError(f"podman API service did not start on {url}: see {paths.service_log}")


def stop_service(paths: LabPaths) -> bool:
    """Stop the podman API service if the lab started it; True when one was stopped."""
    pid = _service_pid(paths)
    paths.service_pid.unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it when this process is its parent
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True
