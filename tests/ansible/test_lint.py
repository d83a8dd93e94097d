"""Ansible content passes ansible-lint (production profile) and yamllint: part of the default run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TARGETS = ["roles", "playbooks", "inventories"]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    # ansible-lint and molecule look for ansible-config and friends on PATH.
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
    }
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, env=env, timeout=600)


def test_ansible_lint_production_profile() -> None:
    result = _run(str(BIN / "ansible-lint"), "--profile", "production", "--nocolor", *TARGETS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_yamllint_ansible_content() -> None:
    result = _run(str(BIN / "yamllint"), "--strict", *TARGETS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_role_documents_its_variables() -> None:
    """Each role: defaults, argument specs naming every default, a README table row per variable."""
    import yaml

    for role in sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir()):
        defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
        specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
        readme = (role / "README.md").read_text()
        prefix = f"{role.name}_"
        for name in defaults:
            assert name.startswith(prefix), f"{role.name}: default {name} lacks the role prefix {prefix}"
            assert name in specs, f"{role.name}: {name} missing from meta/argument_specs.yml"
            assert f"`{name}`" in readme, f"{role.name}: {name} missing from README.md"
