"""The write freeze of one host, written once in the product: `dirac-core writers freeze`.

The migration playbooks (cutover, rollback, deploy-new) run it on each host and `dirac-kit ops
freeze` applies the same rule (is_writer). systemctl is the edge: a stub on PATH lists units and
records what it is asked to stop (the real one runs in the lab's e2e and the molecule scenario).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dirac_core.dbmigrate.freeze import is_writer

DIRAC_CORE = Path(sys.executable).parent / "dirac-core"
UNITS = [
    "dirac-egi-Configuration_Server.service",
    "dirac-egi-Framework_Auth.service",
    "dirac-fg-WorkloadManagement_JobManager.service",
]


@pytest.mark.parametrize(
    ("unit", "instance", "writes"),
    [
        ("dirac-egi-Framework_Auth.service", None, True),
        ("dirac-egi-Configuration_Server.service", None, False),  # hands out the (new) URLs
        ("dirac-egi-Framework_Auth.service", "fg", False),
        ("dirac-fg-WorkloadManagement_JobManager.service", "fg", True),
        ("mariadb.service", None, False),
        ("dirac.target", None, False),
    ],
)
def test_what_a_writer_is(unit: str, instance: str | None, writes: bool) -> None:
    assert is_writer(unit, instance) is writes


def _stub_systemctl(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    listing = "".join(f"{u} loaded active running DIRAC\n" for u in UNITS)
    (bin_dir / "systemctl").write_text(
        f'#!/bin/sh\necho "$*" >> {tmp_path}/calls\ncase "$1" in list-units) printf "%s" "{listing}";; esac\n'
    )
    (bin_dir / "systemctl").chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}


def _freeze(tmp_path: Path, *args: str) -> dict[str, object]:
    env = _stub_systemctl(tmp_path)
    done = subprocess.run(
        [str(DIRAC_CORE), "writers", "freeze", "--json", *args], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_freeze_stops_every_writer_but_the_cs(tmp_path: Path) -> None:
    result = _freeze(tmp_path)
    assert result["stopped"] == ["dirac-egi-Framework_Auth.service", "dirac-fg-WorkloadManagement_JobManager.service"]
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[-1] == "stop dirac-egi-Framework_Auth.service dirac-fg-WorkloadManagement_JobManager.service"


def test_freeze_of_one_instance_and_dry_run(tmp_path: Path) -> None:
    assert _freeze(tmp_path, "--instance", "fg", "--dry-run")["stopped"] == [
        "dirac-fg-WorkloadManagement_JobManager.service"
    ]
    assert not any(call.startswith("stop") for call in (tmp_path / "calls").read_text().splitlines())
