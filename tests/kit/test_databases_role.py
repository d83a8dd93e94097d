"""dirac_databases says a DB server that refuses connections does so (community.mysql would blame
/root/.my.cnf), before it creates anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from dirac_kit.lab.paths import REPO_ROOT

PLAY = """- name: Probe
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Probe the DB server
      ansible.builtin.include_role:
        name: dirac_databases
        tasks_from: db_reachable
"""


def probe(tmp_path: Path, sock: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "play.yml").write_text(PLAY)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(tmp_path / "play.yml"), "-e", f"dirac_databases_socket={sock}", "-e", "dirac_databases_db_host=db01",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "ANSIBLE_ROLES_PATH": str(REPO_ROOT / "roles"),
             "ANSIBLE_NOCOLOR": "1", "HOME": str(tmp_path)},
    )  # fmt: skip


def test_a_refusing_db_server_is_named_with_the_fix(tmp_path: Path) -> None:
    stale = tmp_path / "mysqld.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(stale))
    server.close()  # the socket file stays, nobody listens: what a crashed mariadbd leaves
    proc = probe(tmp_path, stale)
    assert proc.returncode != 0
    assert f"MariaDB on db01 does not accept connections on {stale}" in proc.stdout + proc.stderr
    assert "Connection refused" in proc.stdout and "systemctl start mariadb" in proc.stdout
    assert ".my.cnf" not in proc.stdout + proc.stderr


def test_a_listening_db_server_passes(tmp_path: Path) -> None:
    live = tmp_path / "mysqld.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(live))
    server.listen(4)
    try:
        proc = probe(tmp_path, live)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stdout + proc.stderr
