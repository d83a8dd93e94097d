"""dirac-kit ops: host selection, status parsing and a freeze that unfreeze undoes exactly.

The SSH runner is replaced at the edge by a recorder that plays systemctl on an in-memory host
set; the lab test at the end runs the real Fabric path against the lab.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirac_core.errors import BadRequest, Conflict
from dirac_kit.ops import tasks
from dirac_kit.ops.hosts import Fleet, Result, load_fleet

GROUPS = {
    "all": ["h1", "h2", "h3"],
    "egi": ["h1", "h2"],
    "fg": ["h3"],
    "cc_in2p3": ["h2", "h3"],
}


class FakeHosts:
    """systemctl on three hosts: units and their states; h3 can be made unreachable."""

    def __init__(self) -> None:
        self.units = {
            "h1": {"dirac-egi-Configuration_Server.service": "active", "dirac-egi-Framework_Auth.service": "active"},
            "h2": {"dirac-egi-WorkloadManagement_JobManager.service": "active"},
            "h3": {"dirac-fg-Configuration_Server.service": "active"},
        }
        self.down: set[str] = set()
        self.commands: list[tuple[str, str]] = []

    def __call__(self, host: str, command: str) -> Result:
        self.commands.append((host, command))
        if host in self.down:
            return Result(host, False, "", "Connection refused")
        units = self.units[host]
        if command.startswith("systemctl list-units"):
            lines = [f"{u} {s} {'running' if s == 'active' else 'dead'} enabled" for u, s in units.items()]
            return Result(host, True, "\n".join(lines) + "\n", "")
        verb, *names = command.split()[1:]
        for name in names:
            units[name.strip("'")] = "active" if verb == "start" else "inactive"
        return Result(host, True, "", "")


def _fleet(fake: FakeHosts) -> Fleet:
    return Fleet(groups=GROUPS, hostvars={h: {} for h in GROUPS["all"]}, runner=fake)


def test_host_patterns() -> None:
    fleet = _fleet(FakeHosts())
    assert fleet.hosts("egi") == ["h1", "h2"]
    assert fleet.hosts("egi:fg") == ["h1", "h2", "h3"]
    assert fleet.hosts("egi:&cc_in2p3") == ["h2"]
    assert fleet.hosts("h3") == ["h3"]
    with pytest.raises(BadRequest, match="no group or host 'nope'"):
        fleet.hosts("nope")


def test_status_lists_units_and_unreachable_hosts() -> None:
    fake = FakeHosts()
    fake.down.add("h3")
    states = tasks.status(_fleet(fake))
    assert [(s.host, s.unit, s.active) for s in states] == [
        ("h1", "dirac-egi-Configuration_Server.service", "active"),
        ("h1", "dirac-egi-Framework_Auth.service", "active"),
        ("h2", "dirac-egi-WorkloadManagement_JobManager.service", "active"),
        ("h3", "-", "unreachable"),
    ]


def test_freeze_keeps_the_cs_and_unfreeze_restarts_exactly_what_stopped(tmp_path: Path) -> None:
    fake = FakeHosts()
    fleet = _fleet(fake)
    stopped = tasks.freeze(fleet, "egi", tmp_path)
    assert stopped == {
        "h1": ["dirac-egi-Framework_Auth.service"],
        "h2": ["dirac-egi-WorkloadManagement_JobManager.service"],
    }
    assert fake.units["h1"]["dirac-egi-Configuration_Server.service"] == "active"
    assert fake.units["h2"]["dirac-egi-WorkloadManagement_JobManager.service"] == "inactive"
    assert fake.units["h3"]["dirac-fg-Configuration_Server.service"] == "active"  # other instance untouched
    with pytest.raises(Conflict, match="already frozen"):
        tasks.freeze(fleet, "egi", tmp_path)
    assert tasks.unfreeze(fleet, "egi", tmp_path) == stopped
    assert all(state == "active" for units in fake.units.values() for state in units.values())
    with pytest.raises(Conflict, match="is not frozen"):
        tasks.unfreeze(fleet, "egi", tmp_path)


def test_freeze_refuses_when_a_host_is_unreachable(tmp_path: Path) -> None:
    fake = FakeHosts()
    fake.down.add("h2")
    with pytest.raises(Conflict, match=r"h2 unreachable.*--hosts 'egi:!h2'"):
        tasks.freeze(_fleet(fake), "egi", tmp_path)
    assert not any(cmd.startswith("systemctl stop") for _, cmd in fake.commands)
    assert not list(tmp_path.iterdir())


def test_freeze_of_the_reachable_hosts_only(tmp_path: Path) -> None:
    fake = FakeHosts()
    fake.down.add("h2")
    assert _fleet(fake).hosts("egi:!h2") == ["h1"]
    stopped = tasks.freeze(_fleet(fake), "egi", tmp_path, "egi:!h2")
    assert stopped == {"h1": ["dirac-egi-Framework_Auth.service"]}
    assert not any(host == "h2" and cmd.startswith("systemctl stop") for host, cmd in fake.commands)


@pytest.fixture
def refusing_sshd() -> Iterator[int]:
    """A TCP port that answers like a broken sshd: garbage, then closed."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = server.accept()
                conn.sendall(b"not ssh\r\n")
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


def test_unreachable_hosts_are_one_line_each_and_status_fails(tmp_path: Path, refusing_sshd: int) -> None:
    """Real Fabric/paramiko against a broken sshd: no tracebacks, no deprecation warning, exit 1."""
    inventory = tmp_path / "site"
    inventory.mkdir()
    (inventory / "hosts.yml").write_text("all:\n  children:\n    egi:\n      hosts:\n        h1:\n        h2:\n")
    config = tmp_path / "ssh_config"
    config.write_text(f"Host *\n  HostName 127.0.0.1\n  Port {refusing_sshd}\n  User root\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dirac_kit", "ops", "status", "-i", str(inventory), "--ssh-config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr  # no paramiko tracebacks, no cryptography warning
    assert [line.split()[:3] for line in proc.stdout.splitlines()[1:]] == [
        ["h1", "-", "unreachable"],
        ["h2", "-", "unreachable"],
    ]


LAB_INVENTORY = Path(__file__).resolve().parents[2] / "inventories" / "lab"


@pytest.mark.lab
def test_status_over_ssh_in_the_lab() -> None:
    ssh_config = Path(os.environ.get("DIRAC_LAB_SSH_CONFIG", LAB_INVENTORY.parent.parent / "var/lab/ssh_config"))
    if not ssh_config.is_file():
        pytest.skip(f"the lab is not up ({ssh_config} missing): run dirac-kit lab up")
    fleet = load_fleet([LAB_INVENTORY], ssh_config)  # the lab inventory's own vault file is found
    # The new site: what the CI stage brings up (`lab up --site new`); a full `lab up` has it too.
    states = tasks.status(fleet, "cc_in2p3")
    assert {s.host for s in states} == set(fleet.hosts("cc_in2p3"))
    assert all(s.active != "unreachable" for s in states), [s for s in states if s.active == "unreachable"]
