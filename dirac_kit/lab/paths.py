"""Where the lab keeps its files: everything generated lives under ``<repo>/var/lab/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The repository checkout this package runs from (editable install or PYTHONPATH).
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @classmethod
    def default(cls) -> LabPaths:
        # DIRAC_KIT_ROOT lets an installed (non-editable) kit point at a checkout.
        return cls(Path(os.environ.get("DIRAC_KIT_ROOT", REPO_ROOT)).resolve())

    @property
    def containers_conf(self) -> Path:
        return self.root / "etc" / "containers" / "containers.conf"

    @property
    def state(self) -> Path:
        return self.root / "var" / "lab"

    @property
    def build(self) -> Path:
        return self.state / "build"

    @property
    def ssh_key(self) -> Path:
        return self.state / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.state / "ssh_config"

    @property
    def hosts_file(self) -> Path:
        """Generated inventory with ``ansible_host`` IPs (for tools that do not read ssh_config)."""
        return self.state / "hosts.yml"

    @property
    def service_pid(self) -> Path:
        """PID of the podman API service, present only when the lab started it."""
        return self.state / "podman-service.pid"

    @property
    def lab_inventory(self) -> Path:
        return self.root / "inventories" / "lab"

    def container_env(self) -> dict[str, str]:
        """Environment for podman processes: the project's containers.conf, never the system's."""
        return {**os.environ, "CONTAINERS_CONF": str(self.containers_conf)}
