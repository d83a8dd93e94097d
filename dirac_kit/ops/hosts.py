"""Fabric connections to the hosts of an Ansible inventory (the same hosts the playbooks reach)."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dirac_core.errors import BadRequest
from dirac_kit.runbook.context import read_inventory


@dataclass(frozen=True)
class Result:
    host: str
    ok: bool
    stdout: str
    stderr: str


# Runs one shell command on one host; the real one goes over SSH with Fabric, tests pass their own.
Runner = Callable[[str, str], Result]


@dataclass
class Fleet:
    """The inventory's hosts and groups, and how to run a command on them."""

    groups: dict[str, list[str]]
    hostvars: dict[str, dict[str, Any]]
    ssh_config: Path | None = None
    runner: Runner | None = None

    def hosts(self, pattern: str = "all") -> list[str]:
        """Hosts of a group (or `all`, or one host name); `a:b` is a union, `a:&b` an intersection,
        `a:!b` leaves b out (Ansible's host patterns)."""
        selected: list[str] | None = None
        for term in pattern.split(":"):
            intersect, exclude = term.startswith("&"), term.startswith("!")
            name = term.lstrip("&!")
            found = self.groups.get(name) or ([name] if name in self.hostvars else None)
            if found is None:
                known = ", ".join(sorted(self.groups))
                raise BadRequest(f"no group or host {name!r} in the inventory: groups are {known}")
            if selected is None:
                selected = [] if exclude else list(found)
            elif exclude:
                selected = [h for h in selected if h not in found]
            elif intersect:
                selected = [h for h in selected if h in found]
            else:
                selected += [h for h in found if h not in selected]
        return selected or []

    def run(self, hosts: Sequence[str], command: str) -> list[Result]:
        """The same command on every host, in parallel; results in host order."""
        runner = self.runner or self._fabric
        with ThreadPoolExecutor(max_workers=min(10, max(1, len(hosts)))) as pool:
            return list(pool.map(lambda h: runner(h, command), hosts))

    def _fabric(self, host: str, command: str) -> Result:
        from fabric import Config, Connection  # imported late: `dirac-kit --help` stays fast

        _quiet_paramiko()
        variables = self.hostvars.get(host, {})
        config = Config(runtime_ssh_path=str(self.ssh_config)) if self.ssh_config else Config()
        port = variables.get("ansible_port")
        connection = Connection(
            str(variables.get("ansible_host", host)) if not self.ssh_config else host,
            user=str(variables.get("ansible_user", "root")),
            port=int(port) if isinstance(port, int | str) and str(port).isdigit() else None,
            config=config,
            connect_timeout=10,
        )
        try:
            done = connection.run(command, hide=True, warn=True, in_stream=False)
            return Result(host, done.ok, done.stdout, done.stderr)
        except Exception as exc:  # unreachable host: report it, keep going with the others
            return Result(host, False, "", f"cannot reach {host}: {exc}")
        finally:
            connection.close()


def _quiet_paramiko() -> None:
    """Paramiko's transport thread logs each failed handshake with two tracebacks (~20 lines a host,
    through logging's last-resort handler); the Result already carries the one line that matters."""
    logger = logging.getLogger("paramiko")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def lab_ssh_config(inventory: Path) -> Path | None:
    """The lab's ssh_config (host name -> container IP, lab key), as the lab inventory uses it."""
    configured = os.environ.get("DIRAC_LAB_SSH_CONFIG")
    if configured:
        return Path(configured)
    directory = inventory if inventory.is_dir() else inventory.parent
    lab = os.environ.get("DIRAC_LAB_NAME") or "lab"  # a named lab keeps its files in var/<name>/
    candidate = directory.parent.parent / "var" / lab / "ssh_config"
    return candidate if candidate.is_file() else None


def load_fleet(inventories: Sequence[Path], ssh_config: Path | None = None, vault: Path | None = None) -> Fleet:
    data = read_inventory(inventories, vault)
    return Fleet(
        groups=data["groups"],
        hostvars=data["hostvars"],
        ssh_config=ssh_config or (lab_ssh_config(inventories[0]) if inventories else None),
    )


def quote(value: str) -> str:
    return shlex.quote(value)
