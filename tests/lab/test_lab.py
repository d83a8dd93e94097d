"""The lab end to end: real containers, real systemd, real SSH, real Ansible (marked `lab`).

Runs its own lab, named `t` + DIRAC_LAB_NAME (default `tlab`: containers `tlab-<host>`, network
`dirac-tlab`), so it never touches the default lab other people work on, nor the lab of a CI stage
running beside it (DIRAC_LAB_NAME=labci gives `tlabci`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_kit.lab.inventory import host_groups
from dirac_kit.lab.paths import REPO_ROOT, LabPaths

pytestmark = pytest.mark.lab

NAME = "t" + os.environ.get("DIRAC_LAB_NAME", "lab")
PATHS = LabPaths(REPO_ROOT, NAME)
INVENTORY = REPO_ROOT / "inventories" / "lab"
HOSTS = list(host_groups(INVENTORY))
ENV = {
    **os.environ,
    "DIRAC_LAB_NAME": NAME,
    "DIRAC_LAB_SSH_CONFIG": str(PATHS.ssh_config),
    "CONTAINERS_CONF": str(PATHS.containers_conf),
}


def kit(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=ENV, timeout=timeout
    )


def ssh(host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", "-F", str(PATHS.ssh_config), "-o", "BatchMode=yes", host, command],
        capture_output=True,
        text=True,
        timeout=60,
    )


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, env=ENV, check=True).stdout


@pytest.fixture(scope="module")
def lab() -> Iterator[dict[str, str]]:
    started = time.monotonic()
    proc = kit("lab", "up")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    print(f"\nlab up ({len(HOSTS)} hosts): {time.monotonic() - started:.1f} s")
    status = kit("lab", "status")
    ips = {}
    for line in status.stdout.splitlines()[1:]:
        host, ip, *_ = line.split()
        ips[host] = ip
    yield ips
    kit("lab", "down")


def test_every_host_is_up_with_systemd_and_answers_ssh(lab: dict[str, str]) -> None:
    assert sorted(lab) == sorted(HOSTS)
    for host in HOSTS:
        proc = ssh(host, "hostname; systemctl is-system-running; systemctl is-active ssh; id -un")
        assert proc.returncode == 0, f"{host}: {proc.stderr}"
        assert proc.stdout.split() == [host, "running", "active", "root"]


def test_hosts_resolve_each_other_by_inventory_name(lab: dict[str, str]) -> None:
    names = " ".join(HOSTS)
    for host in ("ccdiracli07", "cyf-db01"):
        proc = ssh(host, f"for h in {names}; do getent hosts $h | cut -d' ' -f1; done")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == [lab[h] for h in HOSTS]


def test_ansible_reaches_every_host_over_ssh(lab: dict[str, str]) -> None:
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible"), "-i", str(INVENTORY), "all", "-m", "ansible.builtin.setup",
            "-a", "filter=ansible_hostname", "--vault-id", f"lab@{INVENTORY / 'vault-password.lab.txt'}", "-o",
        ],
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for line in proc.stdout.splitlines():
        host, _, rest = line.partition(" | SUCCESS => ")
        assert json.loads(rest)["ansible_facts"]["ansible_hostname"] == host
    assert len(proc.stdout.splitlines()) == len(HOSTS)


def test_operator_cli_runs_a_playbook_on_the_lab_over_ssh(lab: dict[str, str], tmp_path: Path) -> None:
    """`dirac-kit -i inventories/lab <action>`: lab vault added by the wrapper, --limit passed through."""
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "verify.yml").write_text(
        "- name: Where am I\n  hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: Hostname and the vault\n      ansible.builtin.command: hostname\n      changed_when: false\n"
        "    - name: Vault secret is there\n      ansible.builtin.assert:\n"
        "        that: dirac_db_passwords.egi | length > 0\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "dirac_kit", "-i", str(INVENTORY), "verify", "--limit", "cc_in2p3"],
        capture_output=True, text=True, env={**ENV, "DIRAC_KIT_ROOT": str(tmp_path)}, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "--vault-id lab@" in proc.stderr
    recap = dict(re.findall(r"^(\S+)\s+: (ok=\d+\s+changed=\d+\s+unreachable=\d+\s+failed=\d+)", proc.stdout, re.M))
    new_site = [h for h, groups in host_groups(INVENTORY).items() if "cc_in2p3" in groups]
    assert sorted(recap) == sorted(new_site)
    assert {re.sub(r"\s+", " ", line) for line in recap.values()} == {"ok=2 changed=0 unreachable=0 failed=0"}


def test_up_again_keeps_the_running_hosts(lab: dict[str, str]) -> None:
    before = podman("ps", "-q", "--filter", f"label=dirac.lab={NAME}").split()
    proc = kit("lab", "up", "--site", "new")
    assert proc.returncode == 0, proc.stderr
    assert podman("ps", "-q", "--filter", f"label=dirac.lab={NAME}").split() == before


def _ids(site_group: str) -> set[str]:
    out = podman(
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        f"label=dirac.lab={NAME}",
        "--filter",
        "label=dirac.lab.site=" + site_group,
    )
    return set(out.split())


def test_reset_needs_confirmation_and_resets_only_its_site(lab: dict[str, str]) -> None:
    old, new = _ids("old"), _ids("new")
    assert (len(old), len(new)) == (3, 6)
    refused = kit("lab", "reset", "--site", "old")
    assert refused.returncode != 0
    assert "--yes-i-really-mean-it" in refused.stderr
    assert _ids("old") == old
    proc = kit("lab", "reset", "--site", "old", "--yes-i-really-mean-it")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _ids("new") == new
    fresh = _ids("old")
    assert len(fresh) == 3
    assert not fresh & old
    assert ssh("cyf-db01", "systemctl is-system-running").stdout.strip() == "running"


def test_down_leaves_nothing(lab: dict[str, str]) -> None:
    proc = kit("lab", "down")
    assert proc.returncode == 0, proc.stderr
    assert podman("ps", "-a", "-q", "--filter", f"label=dirac.lab={NAME}").strip() == ""
    assert NAME not in podman("network", "ls", "--format", "{{.Name}}").split("dirac-")
    assert f"dirac-{NAME}" not in podman("network", "ls", "--format", "{{.Name}}").split()
    assert not PATHS.ssh_config.exists()
    if not podman("ps", "-a", "-q", "--filter", "label=dirac.lab").strip():
        # No other lab left: the podman API service the lab started is gone too.
        assert not PATHS.service_pid.exists()
        assert subprocess.run(["pgrep", "-f", "podman system service"], capture_output=True).returncode == 1
