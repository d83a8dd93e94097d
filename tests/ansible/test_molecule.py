"""`molecule test` of every role: create, prepare, converge, idempotence, (side effect), verify, destroy.

Marked `lab` and `slow`: each scenario runs the lab host image (`dirac-lab-host:latest`, systemd as
PID 1) as a container through the lab's engine (podman's Docker-compatible API service, started by
`scripts/molecule.sh` through `dirac-kit lab engine` when it is not running). The CI stage
`scripts/ci-lab-stage.sh` runs them; by hand: `pytest -m lab tests/ansible/test_molecule.py`.
Each run's output is kept in var/molecule-logs/<role>.log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parents[2].name for p in (ROOT / "roles").glob("*/molecule/default/molecule.yml"))
LOGS = ROOT / "var" / "molecule-logs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def idempotence_recaps(output: str) -> list[str]:
    """PLAY RECAP host lines of the idempotence step (molecule prints it between two step banners:
    `default ➜ idempotence: Executing` on a terminal, `[default > idempotence] Executing` otherwise)."""
    match = re.search(r"idempotence\W+Executing(.*?)idempotence\W+Executed", output, re.S)
    if match is None:
        return []
    return re.findall(r"^\W*(\S+\s*:\s*ok=\d+\s+changed=\d+.*)$", match.group(1), re.M)


def test_idempotence_recaps_parse() -> None:
    line = "mol-dirac : ok=8    changed=0    unreachable=0    failed=0"
    tty = f"INFO default ➜ idempotence: Executing\n  │ PLAY RECAP\n  │ {line}\nINFO default ➜ idempotence: Executed"
    plain = (
        f"x : ok=1  changed=3\nINFO [default > idempotence] Executing\nPLAY RECAP\n{line}\n"
        "INFO [default > idempotence] Executed: Successful\n"
    )
    assert idempotence_recaps(tty) == [line]
    assert idempotence_recaps(plain) == [line]


@pytest.mark.lab
@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_molecule(role: str) -> None:
    env = {
        **os.environ,
        "DIRAC_KIT_VENV_BIN": str(Path(sys.executable).parent),  # molecule, ansible-*, pytest of this venv
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "molecule.sh"), role, "test"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # one stream: ansible's output stays between molecule's step banners
        text=True,
        check=False,
        timeout=1800,
    )
    output = ANSI.sub("", result.stdout)
    (LOGS / f"{role}.log").write_text(output)
    print(f"molecule test {role}: {time.monotonic() - started:.0f} s, exit {result.returncode}")
    assert result.returncode == 0, f"molecule test {role} failed (var/molecule-logs/{role}.log):\n{output[-6000:]}"
    recaps = idempotence_recaps(output)
    assert recaps, f"{role}: no idempotence step in the output (var/molecule-logs/{role}.log)"
    changed = [line for line in recaps if not re.search(r"\bchanged=0\b", line)]
    assert not changed, f"{role}: the second converge changed something: {changed}"
