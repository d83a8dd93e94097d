"""`molecule test` of every role (create, prepare, converge, idempotence, verify with testinfra, destroy).

Marked `lab`: the scenarios run the lab host image (`dirac-lab-host:latest`, built by `dirac-kit lab up`)
as a container through podman's Docker-compatible socket. Run: `pytest -m lab tests/ansible/test_molecule.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SOCKET = os.environ.get("DOCKER_HOST", "unix:///run/podman/podman.sock")
ROLES = sorted(p.parent.parent.parent.name for p in (ROOT / "roles").glob("*/molecule/default/molecule.yml"))

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.mark.parametrize("role", ROLES)
def test_molecule(role: str) -> None:
    if SOCKET.startswith("unix://") and not Path(SOCKET.removeprefix("unix://")).exists():
        pytest.skip(f"no container engine at {SOCKET}: run `dirac-kit lab up` first (it starts podman's socket)")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # molecule calls ansible-config
        "DOCKER_HOST": SOCKET,
        "ANSIBLE_FORCE_COLOR": "0",
    }
    result = subprocess.run(
        [str(BIN / "molecule"), "test"],
        cwd=ROOT / "roles" / role,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
