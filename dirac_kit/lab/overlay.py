"""Connection overlay for Ansible and ssh: host name -> container IP, the lab key, no host key checks.

`var/lab/ssh_config` is what `ssh -F` and the lab inventory (group_vars/all/lab.yml passes
``-F`` in ``ansible_ssh_common_args``) use; `var/lab/hosts.yml` is the same as ``ansible_host``
variables, for tools that take an extra inventory instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from dirac_kit.lab.paths import LabPaths


def _write_private(path: Path, text: str) -> None:
    """0600, and atomic: a running ansible-playbook never reads a half-written ssh_config."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def ssh_config_text(ips: dict[str, str], key: Path) -> str:
    lines = ["# Written by `dirac-kit lab up`: the lab hosts. Lab only: host keys are not checked.", ""]
    for name in sorted(ips):
        lines += [
            f"Host {name}",
            f"  HostName {ips[name]}",
            "  User root",
            f"  IdentityFile {key}",
            "  IdentitiesOnly yes",
            "  StrictHostKeyChecking no",
            "  UserKnownHostsFile /dev/null",
            "  LogLevel ERROR",
            "  ConnectTimeout 10",
            "",
        ]
    return "\n".join(lines)


def write_overlay(paths: LabPaths, ips: dict[str, str]) -> None:
    _write_private(paths.ssh_config, ssh_config_text(ips, paths.ssh_key))
    hosts = {
        name: {
            "ansible_host": ip,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(paths.ssh_key),
        }
        for name, ip in sorted(ips.items())
    }
    header = "---\n# Written by `dirac-kit lab up`: ansible_host of each running lab host.\n"
    _write_private(paths.hosts_file, header + yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=True))


def remove_overlay(paths: LabPaths) -> None:
    paths.ssh_config.unlink(missing_ok=True)
    paths.hosts_file.unlink(missing_ok=True)
