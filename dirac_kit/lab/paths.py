"""Where the lab keeps its files: everything generated lives under ``<repo>/var/lab/``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# The repository checkout this package runs from (editable install or PYTHONPATH).
REPO_ROOT = Path(__file__).resolve().parents[2]


DEFAULT_NAME = "lab"


@dataclass(frozen=True)
class LabPaths:
    """Files and engine names of one lab. The default lab is ``lab``; tests run others beside it."""

    root: Path
    name: str = DEFAULT_NAME

    @classmethod
    def default(cls) -> LabPaths:
        # DIRAC_KIT_ROOT lets an installed (non-editable) kit point at a checkout.
        root = Path(os.environ.get("DIRAC_KIT_ROOT", REPO_ROOT)).resolve()
        return cls(root, os.environ.get("DIRAC_LAB_NAME", DEFAULT_NAME))

    @property
    def network(self) -> str:
        return f"dirac-{self.name}"

    def container(self, host: str) -> str:
        """Container name of an inventory host: the host name itself in the default lab."""
        return host if self.name == DEFAULT_NAME else f"{self.name}-{host}"

    @property
    def containers_conf(self) -> Path:
        return self.root / "etc" / "containers" / "containers.conf"

    @property
    def state(self) -> Path:
        return self.root / "var" / self.name

    @property
    def runs(self) -> Path:
        """The lab's migration state, one directory per inventory (dirac_kit.state.RunPaths)."""
        return self.state / "runs"

    @property
    def build(self) -> Path:
        return self.root / "var" / "lab-build"

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
        """PID of the podman API service, present only when a lab started it (shared by all labs)."""
        return Path("/run/podman/dirac-kit-service.pid")

    @property
    def service_log(self) -> Path:
        return self.root / "var" / "podman-service.log"

    @property
    def lab_inventory(self) -> Path:
        return self.root / "inventories" / "lab"

    def container_env(self) -> dict[str, str]:
        """Environment for podman processes: the project's containers.conf, never the system's."""
        return {**os.environ, "CONTAINERS_CONF": str(self.containers_conf)}
