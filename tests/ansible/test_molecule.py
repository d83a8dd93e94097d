"""`molecule test` of every role: create, prepare, converge, idempotence, (side effect), verify, destroy.

Marked `lab`: each scenario runs the lab host image (`dirac-lab-host:latest`, systemd as PID 1) as a
container through the lab's engine (podman's Docker-compatible API service, started by
`scripts/molecule.sh` through `dirac-kit lab engine` when it is not running). The CI stage
`scripts/ci-lab-stage.sh` runs them; by hand: `pytest -m lab tests/ansible/test_molecule.py`.

The scenarios are independent (one container each, named after the role), so they run concurrently
in background threads, DIRAC_MOLECULE_JOBS at a time (default 3), started as soon as the session has
collected them (tests/ansible/conftest.py): they overlap the other lab tests, and each test here only
waits for its scenario's result and checks it. Each run's output, every line prefixed with the seconds
since the scenario started, is kept in var/molecule-logs/<role>.log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.parents[2].name for p in (ROOT / "roles").glob("*/molecule/default/molecule.yml"))
LOGS = ROOT / "var" / "molecule-logs"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Longest first, so that the last scenario to start is a short one (measured on the 2-core CI machine).
LONGEST_FIRST = ["dirac_services", "dirac_databases", "dirac_config", "dirac_common", "dirac_mariadb", "dirac_certs"]


@dataclass(frozen=True)
class Run:
    role: str
    returncode: int
    output: str  # without colours, each line prefixed with "[seconds] "
    seconds: float


_pool: ThreadPoolExecutor | None = None
_runs: dict[str, Future[Run]] = {}
_lock = threading.Lock()


def run_scenario(role: str) -> Run:
    """`scripts/molecule.sh ROLE test`, its output kept in var/molecule-logs/ROLE.log."""
    env = {
        **os.environ,
        "DIRAC_KIT_VENV_BIN": str(Path(sys.executable).parent),  # molecule, ansible-*, pytest of this venv
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",  # time of each task, in the log
    }
    LOGS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    lines: list[str] = []
    with (
        (LOGS / f"{role}.log").open("w") as log,
        subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "molecule.sh"), role, "test"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream: ansible's output stays between molecule's step banners
            text=True,
        ) as proc,
    ):
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = f"[{time.monotonic() - started:6.1f}] {ANSI.sub('', raw)}"
            lines.append(line)
            log.write(line)
            log.flush()
        returncode = proc.wait()
    return Run(role, returncode, "".join(lines), time.monotonic() - started)


def start(roles: list[str]) -> None:
    """Start the scenarios of `roles` in the background (once per session), longest first."""
    global _pool
    with _lock:
        todo = [r for r in sorted(roles, key=_rank) if r not in _runs]
        if not todo:
            return
        if _pool is None:
            jobs = int(os.environ.get("DIRAC_MOLECULE_JOBS", "3"))
            _pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="molecule")
        for role in todo:
            _runs[role] = _pool.submit(run_scenario, role)


def _rank(role: str) -> int:
    return LONGEST_FIRST.index(role) if role in LONGEST_FIRST else -1  # a new role: unknown, start it early


def idempotence_recaps(output: str) -> list[str]:
    """PLAY RECAP host lines of the idempotence step (molecule prints it between two step banners:
    `default ➜ idempotence: Executing` on a terminal, `[default > idempotence] Executing` otherwise)."""
    match = re.search(r"idempotence\W+Executing(.*?)idempotence\W+Executed", output, re.S)
    if match is None:
        return []
    return re.findall(r"^(?:\[\s*[\d.]+\] )?\W*(\S+\s*:\s*ok=\d+\s+changed=\d+.*)$", match.group(1), re.M)


def test_idempotence_recaps_parse() -> None:
    line = "mol-dirac : ok=8    changed=0    unreachable=0    failed=0"
    tty = f"INFO default ➜ idempotence: Executing\n  │ PLAY RECAP\n  │ {line}\nINFO default ➜ idempotence: Executed"
    plain = (
        f"x : ok=1  changed=3\nINFO [default > idempotence] Executing\nPLAY RECAP\n{line}\n"
        "INFO [default > idempotence] Executed: Successful\n"
    )
    stamped = "".join(f"[{n:6.1f}] {text}\n" for n, text in enumerate(plain.splitlines()))
    assert idempotence_recaps(tty) == [line]
    assert idempotence_recaps(plain) == [line]
    assert idempotence_recaps(stamped) == [line]


@pytest.mark.lab
@pytest.mark.timeout(2400)  # waits for its scenario, which may have queued behind others
@pytest.mark.parametrize("role", ROLES)
def test_molecule(role: str) -> None:
    start([role])  # already started by the conftest hook, unless the test was selected in another way
    run = _runs[role].result(timeout=2400)
    print(f"molecule test {role}: {run.seconds:.0f} s, exit {run.returncode}")
    log = f"var/molecule-logs/{role}.log"
    assert run.returncode == 0, f"molecule test {role} failed ({log}):\n{run.output[-6000:]}"
    recaps = idempotence_recaps(run.output)
    assert recaps, f"{role}: no idempotence step in the output ({log})"
    changed = [line for line in recaps if not re.search(r"\bchanged=0\b", line)]
    assert not changed, f"{role}: the second converge changed something: {changed}"
