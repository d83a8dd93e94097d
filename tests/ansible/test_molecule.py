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

The three instance scenarios (config, databases, services) prepare their host with dirac_common first,
whose costly part is the release venv (pip install of the wheelhouse). Once per run, that part is done
once: a container of the lab image gets dirac_common's converge and is committed as
`dirac-lab-molecule:<lab name>`, the image those scenarios then start from (DIRAC_LAB_IMAGE). Their
prepare still applies dirac_common (all `ok`), and dirac_common's own scenario still starts from the
bare lab image, so nothing is tested less.
"""

from __future__ import annotations

import contextlib
import json
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
# Start order: the scenarios on the bare image while the prepared image is built, then the longest first.
START_ORDER = [
    "dirac_common",
    "dirac_db_migrate",
    "dirac_mariadb",
    "dirac_certs",
    "dirac_services",
    "dirac_migration",
    "dirac_databases",
    "dirac_config",
]
# Scenarios whose image is `DIRAC_LAB_IMAGE` (their molecule.yml) and whose prepare applies dirac_common.
ON_PREPARED_IMAGE = {"dirac_config", "dirac_databases", "dirac_migration", "dirac_services"}
LAB_NAME = os.environ.get("DIRAC_LAB_NAME", "lab")
PREPARED_IMAGE = f"dirac-lab-molecule:{LAB_NAME}"


@dataclass(frozen=True)
class Run:
    role: str
    returncode: int
    output: str  # without colours, each line prefixed with "[seconds] "
    seconds: float


_pool: ThreadPoolExecutor | None = None
_image_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="molecule-image")
_prepared: Future[str] | None = None
_runs: dict[str, Future[Run]] = {}
_lock = threading.Lock()


def build_prepared_image() -> str:
    """The lab host image with dirac_common converged (this checkout's release installed), committed."""
    from dirac_kit.lab.engine import connect
    from dirac_kit.lab.hosts import run_options
    from dirac_kit.lab.image import HOST_REPO
    from dirac_kit.lab.paths import REPO_ROOT, LabPaths

    engine = connect(LabPaths(REPO_ROOT, LAB_NAME))
    api = engine.client.api
    name = f"molecule-prepare-{LAB_NAME}"
    with contextlib.suppress(Exception):  # a leftover of an interrupted run
        engine.client.containers.get(name).remove(force=True)
    created = api.create_container(
        f"{HOST_REPO}:latest",
        command=["/sbin/init"],
        name=name,
        host_config=api.create_host_config(**run_options(engine)),
    )
    api.start(created["Id"])
    container = engine.client.containers.get(created["Id"])
    log = LOGS / "prepared-image.log"
    try:
        container.exec_run(["systemctl", "is-system-running", "--wait"])
        # A YAML inventory: ansible.cfg enables only the yaml and ini inventory plugins.
        inventory = LOGS / "prepared-image.inventory.yml"
        host_vars = {
            "ansible_connection": "community.docker.docker_api",
            "ansible_docker_docker_host": engine.base_url,  # the connection's engine
            "ansible_docker_timeout": 60,  # as the scenarios: a loaded engine answers slowly
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        inventory.write_text(json.dumps({"all": {"hosts": {name: host_vars}}}))
        with log.open("w") as out:
            result = subprocess.run(
                [
                    str(Path(sys.executable).parent / "ansible-playbook"),
                    "-i",
                    str(inventory),
                    str(ROOT / "roles" / "dirac_common" / "molecule" / "default" / "converge.yml"),
                ],
                env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_FORCE_COLOR": "0"},
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        recap = re.search(rf"^{re.escape(name)}\s*:\s*ok=[1-9]", log.read_text(), re.M)
        if result.returncode != 0 or recap is None:
            raise RuntimeError(f"dirac_common did not converge on {name}: see {log}")
        container.exec_run(["sh", "-c", ": > /etc/machine-id"])  # each container makes its own at boot
        repository, tag = PREPARED_IMAGE.split(":")
        container.commit(repository=repository, tag=tag)
    finally:
        container.remove(force=True)
    return PREPARED_IMAGE


def remove_prepared_image() -> None:
    """Wait for the scenarios, then drop the run's prepared image (the next run makes its own)."""
    if _pool is not None:
        _pool.shutdown(wait=True)
    if _prepared is None:
        return
    from dirac_kit.lab.engine import connect
    from dirac_kit.lab.paths import REPO_ROOT, LabPaths

    with contextlib.suppress(Exception):  # never built, or still used by a container left by a failure
        connect(LabPaths(REPO_ROOT, LAB_NAME), start=False).client.images.remove(PREPARED_IMAGE)


def run_scenario(role: str) -> Run:
    """`scripts/molecule.sh ROLE test`, its output kept in var/molecule-logs/ROLE.log."""
    LOGS.mkdir(parents=True, exist_ok=True)
    extra: dict[str, str] = {}
    if role in ON_PREPARED_IMAGE:
        assert _prepared is not None
        try:
            extra["DIRAC_LAB_IMAGE"] = _prepared.result()
        except Exception as exc:
            return Run(role, 1, f"the prepared image {PREPARED_IMAGE} could not be built: {exc}\n", 0.0)
    env = {
        **extra,
        **os.environ,
        "DIRAC_KIT_VENV_BIN": str(Path(sys.executable).parent),  # molecule, ansible-*, pytest of this venv
        "ANSIBLE_FORCE_COLOR": "0",
        "NO_COLOR": "1",
        "PY_COLORS": "0",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",  # time of each task, in the log
    }
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
    """Start the scenarios of `roles` in the background (once per session), in START_ORDER."""
    global _pool, _prepared
    with _lock:
        todo = [r for r in sorted(roles, key=_rank) if r not in _runs]
        if not todo:
            return
        if _pool is None:
            jobs = int(os.environ.get("DIRAC_MOLECULE_JOBS", "3"))
            _pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="molecule")
        if _prepared is None and ON_PREPARED_IMAGE.intersection(todo):
            LOGS.mkdir(parents=True, exist_ok=True)
            _prepared = _image_pool.submit(build_prepared_image)  # its own thread: never waits for a worker
        for role in todo:
            _runs[role] = _pool.submit(run_scenario, role)


def _rank(role: str) -> int:
    return START_ORDER.index(role) if role in START_ORDER else -1  # a new role: unknown, start it early


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
