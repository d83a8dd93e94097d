"""The kit against the real lab hosts of the new site, as an operator types it (marked `lab`).

Uses the running lab of DIRAC_LAB_NAME (the CI stage's `lab up --site new`): nothing is deployed or
restarted. 1. a lab host whose IP changed (what a restart does) is reached again by `lab ssh`, which
refreshes ssh_config; 2. a vault made by `dirac-kit secrets init` passes the new site's prechecks,
run through `dirac-kit` from another directory with no Ansible variable exported.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_kit.lab.paths import REPO_ROOT, LabPaths

pytestmark = pytest.mark.lab

PATHS = LabPaths(REPO_ROOT, os.environ.get("DIRAC_LAB_NAME") or "lab")
HOST = "ccdiracdb01"


def kit(*args: str, cwd: Path = REPO_ROOT, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "DIRAC_MIGRATION_"))}
    env = {**env, "DIRAC_LAB_NAME": PATHS.name, **extra}
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=900
    )


@pytest.fixture(autouse=True)
def _lab_up() -> None:
    if not PATHS.ssh_config.is_file():
        pytest.skip(f"{PATHS.ssh_config} missing: run `dirac-kit lab up --site new`")


def test_lab_ssh_reaches_a_host_whose_ip_changed() -> None:
    text = PATHS.ssh_config.read_text()
    block = re.search(rf"Host {HOST}\n  HostName (\S+)", text)
    assert block is not None, text
    stale = text.replace(block.group(0), f"Host {HOST}\n  HostName 192.0.2.1")  # TEST-NET: nobody answers
    PATHS.ssh_config.write_text(stale)
    proc = kit("lab", "ssh", HOST, "hostname")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == HOST
    assert f"HostName {block.group(1)}" in PATHS.ssh_config.read_text()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """The lab inventory keeps SSH master sockets below it: a socket path must stay under 108 bytes."""
    with tempfile.TemporaryDirectory(prefix="kit", dir="/tmp") as folder:
        yield Path(folder)


def test_a_vault_from_secrets_init_passes_the_new_sites_prechecks(short_tmp: Path) -> None:
    tmp_path = short_tmp
    for name in ("lab", "common"):
        shutil.copytree(REPO_ROOT / "inventories" / name, tmp_path / "inventories" / name, symlinks=True)
    inventory = tmp_path / "inventories" / "lab"
    refused = kit("secrets", "init", "-i", str(inventory))
    assert refused.returncode == 2 and "--yes-i-really-mean-it" in refused.stderr
    made = kit("secrets", "init", "-i", str(inventory), "--yes-i-really-mean-it")
    assert made.returncode == 0, made.stderr
    # The copy is outside the checkout: the lab inventory finds this lab's ssh_config through the
    # documented override. The kit sets everything else (ansible.cfg, roles, vault) itself.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = kit("-i", str(inventory), "prechecks", "--limit", "cc_in2p3", cwd=elsewhere,
               DIRAC_LAB_SSH_CONFIG=str(PATHS.ssh_config))  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "vault secret" not in proc.stdout
    assert re.search(r"ccdiracdb01\s*:\s*ok=\d+\s+changed=0\s+unreachable=0\s+failed=0", proc.stdout), proc.stdout[
        -3000:
    ]
