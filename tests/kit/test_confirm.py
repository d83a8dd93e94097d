"""One confirmation rule for every destructive path (issue 18, seen item 3): `runbook run` asks for
--yes-i-really-mean-it like `dirac-kit migrate-stage1` does, instead of books hard-coding the
playbooks' confirmation; the confirmation reaches the playbooks as dirac_migration_confirm=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dirac_core.errors import Forbidden
from dirac_kit import confirm
from dirac_kit.lab.paths import LabPaths
from dirac_kit.playbook import PlaybookRun, build_command
from dirac_kit.state import RunPaths

from .fake_checkout import write_local_lab_inventory

ROOT = Path(__file__).resolve().parents[2]


def test_require_asks_or_names_the_flag() -> None:
    confirm.require("stop", "it stops services", True)
    confirm.require("stop", "it stops services", False, ask=lambda question: "Type yes" in question)
    with pytest.raises(Forbidden, match=r"^stop is destructive \(it stops services\): add --yes-i-really-mean-it"):
        confirm.require("stop", "it stops services", False, ask=lambda _q: False)
    with pytest.raises(Forbidden, match=r"or render it first$"):
        confirm.require("runbook run stage1", "x", False, None, first="render it first")


def test_no_book_hard_codes_the_confirmation() -> None:
    for book in (ROOT / "dirac_kit" / "runbook" / "books").glob("*.yml"):
        for step in yaml.safe_load(book.read_text())["steps"]:
            assert "dirac_migration_confirm" not in str(step.get("extra_vars", "")), f"{book.name} {step['id']}"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A kit checkout whose stage-1 step playbooks write down the confirmation they were given."""
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = False\n")
    playbooks = tmp_path / "playbooks"
    playbooks.mkdir()
    for step in ("prechecks", "deploy-new", "migrate-db", "cutover", "verify-new", "stop-old"):
        (playbooks / f"stage1-{step}.yml").write_text(
            f"- name: Stage 1 {step}\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
            "    - name: Write down the confirmation\n      ansible.builtin.copy:\n"
            f"        dest: '{tmp_path}/ran-{step}'\n"
            "        content: \"{{ dirac_migration_confirm | default('not given') }}\"\n"
            "        mode: '0644'\n"
        )
    write_local_lab_inventory(tmp_path)
    return tmp_path


def _kit(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIRAC_KIT_ROOT": str(root), "DIRAC_LAB_NAME": "c"}
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=env, cwd=root,
        stdin=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip


def test_runbook_run_refuses_destructive_steps_without_confirmation(checkout: Path) -> None:
    run = ["runbook", "run", "stage1", "-i", "inventories/lab"]
    proc = _kit(checkout, *run, "--until", "migrate-db")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "error: runbook run stage1 is destructive (steps migrate-db stop services or move data): " \
        "add --yes-i-really-mean-it" in proc.stderr  # fmt: skip
    assert not list(checkout.glob("ran-*")), "no step ran, not even the harmless ones before"
    markers = RunPaths.of([checkout / "inventories" / "lab"], LabPaths(checkout, "c")).runbooks / "stage1"
    assert not markers.exists()
    # Steps that change nothing need no confirmation; they get none either.
    harmless = _kit(checkout, *run, "--until", "deploy-new")
    assert harmless.returncode == 0, harmless.stdout + harmless.stderr
    assert (checkout / "ran-prechecks").read_text() == "not given"
    confirmed = _kit(checkout, *run, "--yes-i-really-mean-it")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert (checkout / "ran-migrate-db").read_text() == "true"
    assert (checkout / "ran-verify-new").read_text() == "not given"
    # Everything done: nothing destructive is pending, no confirmation needed to see that.
    again = _kit(checkout, *run)
    assert again.returncode == 0 and "already done" in again.stdout


def test_a_confirmed_destructive_action_hands_the_confirmation_to_ansible(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "migrate-stage1.yml").write_text("[]\n")
    inventory = tmp_path / "inventories" / "cc-in2p3"
    inventory.mkdir(parents=True)
    argv, _ = build_command(PlaybookRun("migrate-stage1", inventory, confirmed=True), tmp_path)
    assert argv[argv.index("--extra-vars") + 1] == "dirac_migration_confirm=true"
    argv, _ = build_command(PlaybookRun("migrate-stage1", inventory, check=True), tmp_path)
    assert "dirac_migration_confirm=true" not in argv, "a dry run is not a confirmation"
