"""regex_replace back-references in playbooks and roles, as Ansible renders them.

In a YAML block scalar (`>-`) or a single-quoted one, Jinja reads '\\1' as a literal backslash and
a 1: the replacement is the text `\\1`, not the match. Seen in rollback-switch-back: the engine
states were to be set aside as `/opt/dirac/migrate/\\1/state`, which never exists, so the task
skipped silently, the next stage 1 found its old "cutover done" state, did nothing, and left the new
database server read-only (every write on the new site a 500).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
# After YAML parsing: a Jinja string literal holding \\ then a digit is a literal backslash for Jinja.
DOUBLE_ESCAPED_BACKREF = re.compile(r"\\\\[0-9]")


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


def test_no_template_holds_a_double_escaped_back_reference() -> None:
    found = []
    for path in sorted([*REPO.glob("playbooks/**/*.yml"), *REPO.glob("roles/**/*.yml")]):
        for text in _strings(yaml.safe_load(path.read_text())):
            if "{{" in text and DOUBLE_ESCAPED_BACKREF.search(text):
                found.append(f"{path.relative_to(REPO)}: {text.strip()[:120]}")
    assert not found, "write \\1 (one backslash) in a block scalar, or avoid back-references:\n" + "\n".join(found)


def test_switch_back_sets_aside_the_real_engine_state_directories(tmp_path: Path) -> None:
    plays = yaml.safe_load((REPO / "playbooks" / "rollback-switch-back.yml").read_text())
    task = next(
        t for play in plays for t in play.get("tasks", []) if t.get("name", "").startswith("Keep the engine states")
    )
    out = tmp_path / "rendered.json"
    # The task's loop expression exactly as loaded from the playbook, rendered by Ansible itself.
    probe = [{
        "hosts": "localhost", "gather_facts": False,
        "vars": {
            "dirac_migration_instances": ["egi", "fg"],
            "dirac_migration_engine_dir": "/opt/dirac/migrate",
            "dirac_migration_fingerprint_file": "/opt/dirac/migrate/stage1-fingerprint.json",
            "rendered": task["loop"],
        },
        "tasks": [{"ansible.builtin.copy": {"content": "{{ rendered | to_json }}", "dest": str(out), "mode": "0600"}}],
    }]  # fmt: skip
    playbook = tmp_path / "probe.yml"
    playbook.write_text(yaml.safe_dump(probe))
    subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(out.read_text()) == [
        "/opt/dirac/migrate/egi/state",
        "/opt/dirac/migrate/fg/state",
        "/opt/dirac/migrate/egi-rollback/state",
        "/opt/dirac/migrate/fg-rollback/state",
        "/opt/dirac/migrate/stage1-fingerprint.json",
    ]
