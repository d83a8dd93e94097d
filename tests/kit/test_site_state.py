"""Site state is a guard (issue 18, build item 2): after stage 1, `deploy`, `start` (and `ops`) refuse the
old site unless the operator overrides that state by name, both in the kit (runbook markers) and on
the hosts (the state file the migration steps keep, read by the first play of site.yml and start.yml)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dirac_core.errors import BadRequest, Conflict
from dirac_kit import site_state
from dirac_kit.lab.paths import LabPaths
from dirac_kit.site_state import DECOMMISSIONED, FROZEN, MID_MIGRATION, SiteGroups, SiteState
from dirac_kit.state import RunPaths

ROOT = Path(__file__).resolve().parents[2]
GROUPS = SiteGroups("cyfronet", "cc_in2p3")
STAGE1 = ["prechecks", "deploy-new", "migrate-db", "cutover", "verify-new", "stop-old"]


@pytest.mark.parametrize(
    ("stage1", "rollback", "expected"),
    [
        ([], [], {}),
        (["prechecks"], [], {}),
        (["prechecks", "deploy-new"], [], {"cc_in2p3": MID_MIGRATION}),
        (STAGE1[:3], [], {"cyfronet": FROZEN, "cc_in2p3": MID_MIGRATION}),
        (STAGE1[:4], [], {"cyfronet": DECOMMISSIONED}),
        (STAGE1, [], {"cyfronet": DECOMMISSIONED}),
        # a rollback under way: the new site is frozen, the old one still decommissioned until switch-back
        (STAGE1[:4], ["prechecks", "freeze-new"], {"cyfronet": DECOMMISSIONED, "cc_in2p3": FROZEN}),
        # a finished rollback cleared stage 1 from migrate-db: the new site follows the old master
        (STAGE1[:2], ["prechecks", "freeze-new", "carry-back", "switch-back"], {"cc_in2p3": MID_MIGRATION}),
    ],
)
def test_state_of_each_site_follows_the_runbook_markers(
    stage1: list[str], rollback: list[str], expected: dict[str, str]
) -> None:
    assert site_state.from_markers(set(stage1), set(rollback), GROUPS) == expected


def test_refusal_names_hosts_state_why_and_the_override() -> None:
    state = SiteState("cyfronet", DECOMMISSIONED, Path("/state/runbooks"))
    message = site_state.refusal("deploy", state, ["cyf-dirac01", "cyf-dirac02"], set(), "--limit 'all:!cyfronet'")
    assert message is not None
    assert message.startswith("deploy refused: cyf-dirac01, cyf-dirac02 (site cyfronet) are decommissioned: ")
    assert "follow the new master" in message and "/state/runbooks" in message
    assert message.endswith("Leave the site out (--limit 'all:!cyfronet') or, if you really mean it, "
                            "add --override-site-state decommissioned")  # fmt: skip
    assert site_state.refusal("deploy", state, [], set(), "x") is None, "no host of the site is touched"
    assert site_state.refusal("deploy", state, ["cyf-dirac01"], {DECOMMISSIONED}, "x") is None
    assert site_state.refusal("deploy", state, ["cyf-dirac01"], {FROZEN}, "x") is not None, "another state's name"


def test_an_unknown_override_is_one_clear_error() -> None:
    assert site_state.parse_overrides(["frozen,decommissioned"]) == {FROZEN, DECOMMISSIONED}
    with pytest.raises(BadRequest, match=r"--override-site-state retired: not a site state; use one of decom"):
        site_state.parse_overrides(["retired"])


def test_the_kit_and_the_hosts_give_the_same_reasons() -> None:
    defaults = yaml.safe_load((ROOT / "roles/dirac_migration/defaults/main.yml").read_text())
    on_hosts = {k: " ".join(v.split()) for k, v in defaults["dirac_migration_site_states"].items()}
    assert on_hosts == site_state.WHY
    assert defaults["dirac_migration_site_state_override"] == ""
    assert site_state.OVERRIDE_VAR in defaults


def test_site_groups_come_from_extra_vars_then_group_vars_then_defaults(tmp_path: Path) -> None:
    inventory = tmp_path / "inv"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    assert site_state.site_groups([inventory]) == GROUPS
    (inventory / "group_vars" / "all" / "vault.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    (inventory / "group_vars" / "all" / "m.yml").write_text("dirac_migration_old_site: old\nx: !vault |\n  abc\n")
    assert site_state.site_groups([inventory]) == GROUPS, "a file with !vault values is skipped whole"
    (inventory / "group_vars" / "all" / "m.yml").write_text("dirac_migration_old_site: old\n")
    assert site_state.site_groups([inventory]) == SiteGroups("old", "cc_in2p3")
    assert site_state.site_groups([inventory], ["dirac_migration_new_site=new"]) == SiteGroups("old", "new")


def test_ops_refuses_hosts_of_a_guarded_site() -> None:
    groups = {"cyfronet": ["cyf-dirac01"], "cc_in2p3": ["ccdiracli07"]}
    states = [SiteState("cyfronet", DECOMMISSIONED, Path("/s"))]
    with pytest.raises(Conflict, match=r"ops freeze egi refused: cyf-dirac01 \(site cyfronet\) is decommissioned"):
        site_state.check_hosts("ops freeze egi", ["cyf-dirac01", "ccdiracli07"], groups, states, (), "--hosts x")
    site_state.check_hosts("ops freeze egi", ["ccdiracli07"], groups, states, (), "--hosts x")
    site_state.check_hosts("ops freeze egi", ["cyf-dirac01"], groups, states, ["decommissioned"], "--hosts x")


# ---- the CLI, with a real ansible-playbook against local hosts ----------------------------------


def _local(name: str) -> str:
    return f"        {name}: {{ansible_connection: local, ansible_python_interpreter: {sys.executable}}}\n"


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    """A kit checkout with noop site.yml/start.yml and two production-like inventories of both sites."""
    (tmp_path / "playbooks").mkdir()
    for playbook in ("site.yml", "start.yml", "stop.yml", "prechecks.yml"):
        (tmp_path / "playbooks" / playbook).write_text(
            "- name: Noop\n  hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - name: Say\n      ansible.builtin.debug:\n        msg: 'acted on {{ inventory_hostname }}'\n"
        )
    (tmp_path / "ansible.cfg").write_text("[defaults]\nretry_files_enabled = False\n")
    both = tmp_path / "inventories" / "both"
    both.mkdir(parents=True)
    (both / "hosts.yml").write_text(
        "all:\n  children:\n    cyfronet:\n      hosts:\n" + _local("cyf-dirac01") + _local("cyf-db01")
        + "    cc_in2p3:\n      hosts:\n" + _local("ccdiracli07")
    )  # fmt: skip
    old = tmp_path / "inventories" / "cyfronet"
    old.mkdir()
    (old / "hosts.yml").write_text("all:\n  children:\n    cyfronet:\n      hosts:\n" + _local("cyf-dirac01"))
    return tmp_path


def _mark(kit: Path, inventories: list[str], book: str, steps: list[str]) -> Path:
    runs = RunPaths.of([kit / "inventories" / name for name in inventories], LabPaths(kit, "t")).runbooks
    markers = runs / book / "markers"
    markers.mkdir(parents=True, exist_ok=True)
    all_steps = STAGE1 if book == "stage1" else ["prechecks", "freeze-new", "carry-back", "switch-back"]
    for step in steps:
        (markers / f"{all_steps.index(step) + 1:02d}-{step}.done").write_text("{}")
    return runs


def _kit(kit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIRAC_KIT_ROOT": str(kit), "DIRAC_LAB_NAME": "t"}
    return subprocess.run(
        [sys.executable, "-m", "dirac_kit", *args], capture_output=True, text=True, env=env, cwd=kit, timeout=120
    )


def test_deploy_and_start_refuse_the_old_site_after_stage1_and_run_nothing(kit: Path) -> None:
    _mark(kit, ["both"], "stage1", STAGE1)
    for action in ("deploy", "start"):
        proc = _kit(kit, "-i", "inventories/both", action, "--check", "--diff", "--limit", "cyfronet")
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert f"error: {action} refused: cyf-dirac01, cyf-db01 (site cyfronet) are decommissioned" in proc.stderr
        assert "--override-site-state decommissioned" in proc.stderr
        assert "+ " not in proc.stderr and "acted on" not in proc.stdout, "no ansible-playbook ran"
    # Without --limit the run would reach the old site too.
    assert "refused" in _kit(kit, "-i", "inventories/both", "deploy", "--check").stderr


def test_the_new_site_alone_and_a_named_override_go_through(kit: Path) -> None:
    _mark(kit, ["both"], "stage1", STAGE1)
    new = _kit(kit, "-i", "inventories/both", "deploy", "--check", "--limit", "cc_in2p3")
    assert new.returncode == 0, new.stdout + new.stderr
    assert "acted on ccdiracli07" in new.stdout
    wrong = _kit(kit, "-i", "inventories/both", "start", "--limit", "cyfronet", "--override-site-state", "frozen")
    assert wrong.returncode == 2 and "are decommissioned" in wrong.stderr
    named = _kit(kit, "-i", "inventories/both", "start", "--limit", "cyfronet", "--override-site-state", DECOMMISSIONED)
    assert named.returncode == 0, named.stdout + named.stderr
    assert "acted on cyf-dirac01" in named.stdout
    # The hosts' own guard gets the same name.
    assert "--extra-vars dirac_migration_site_state_override=decommissioned" in named.stderr


def test_a_site_given_alone_sees_the_run_of_both_sites(kit: Path) -> None:
    runs = _mark(kit, ["cyfronet", "both"], "stage1", STAGE1[:3])
    assert runs.parent.name == "cyfronet+both"
    proc = _kit(kit, "-i", "inventories/cyfronet", "deploy")
    assert proc.returncode == 2
    assert "deploy refused: cyf-dirac01 (site cyfronet) is frozen: a migration froze its writes" in proc.stderr
    # Read-only and stop actions are not guarded.
    assert _kit(kit, "-i", "inventories/cyfronet", "prechecks", "--check").returncode == 0


def test_nothing_recorded_means_no_refusal_and_no_inventory_listing(kit: Path) -> None:
    proc = _kit(kit, "-i", "inventories/both", "deploy", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "acted on cyf-dirac01" in proc.stdout


# ---- the hosts' guard: site.yml and start.yml in check mode -----------------------------------


def _playbook(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "PYTHONWARNINGS": "ignore"}
    binary = Path(sys.executable).parent / "ansible-playbook"
    return subprocess.run([str(binary), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.fixture
def host(tmp_path: Path) -> tuple[Path, Path]:
    """One local host of the old site; its state file lives under tmp_path."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    cyfronet:\n      hosts:\n" + _local("cyf-dirac01")
        + "    egi:\n      hosts:\n        cyf-dirac01:\n    diracservers:\n      children:\n        egi:\n"
        + "    configservers:\n      hosts:\n        cyf-dirac01:\n"
    )  # fmt: skip
    return inventory, tmp_path / "migrate" / "site-state.json"


def _recap(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("cyf-dirac01") and "ok=" in line)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def test_a_plain_ansible_playbook_refuses_in_check_mode_before_any_change(host: tuple[Path, Path]) -> None:
    inventory, state_file = host
    common = ["-i", str(inventory), "-e", "ansible_become=false", "-e", f"dirac_migration_site_state_file={state_file}"]
    state_file.parent.mkdir(parents=True)
    state_file.write_text(json.dumps({"state": "decommissioned", "site": "cyfronet", "step": "stage 1 cutover"}))
    for playbook in ("site.yml", "start.yml"):
        proc = _playbook(*common, f"playbooks/{playbook}", "--check", "--diff", "--limit", "cyfronet")
        assert proc.returncode == 2, proc.stdout[-3000:]
        recap = _recap(proc.stdout)
        assert recap["changed"] == 0 and recap["failed"] == 1, proc.stdout[-3000:]
        message = " ".join(proc.stdout.split())
        assert "cyf-dirac01 (site cyfronet) is decommissioned: stage 1 cut over to the new site" in message
        assert "-e dirac_migration_site_state_override=decommissioned" in message
        assert "TASK [dirac_common" not in proc.stdout and "Prechecks" not in proc.stdout.split("PLAY RECAP")[0]


def test_the_named_override_passes_the_hosts_guard(host: tuple[Path, Path]) -> None:
    inventory, state_file = host
    state_file.parent.mkdir(parents=True)
    state_file.write_text(json.dumps({"state": "frozen", "site": "cyfronet", "step": "stage 1 migrate-db"}))
    guard = ["-i", str(inventory), "-e", "ansible_become=false", "-e", f"dirac_migration_site_state_file={state_file}",
             "playbooks/site-state-guard.yml", "--check"]  # fmt: skip
    assert _playbook(*guard).returncode == 2
    assert _playbook(*guard, "-e", "dirac_migration_site_state_override=decommissioned").returncode == 2
    passed = _playbook(*guard, "-e", "dirac_migration_site_state_override=decommissioned,frozen")
    assert passed.returncode == 0, passed.stdout[-3000:]
    state_file.unlink()
    assert _playbook(*guard).returncode == 0, "no state recorded: the site serves normally"


OLD = "{{ dirac_migration_old_site | default('cyfronet') }}"
NEW = "{{ dirac_migration_new_site | default('cc_in2p3') }}"


@pytest.mark.parametrize(
    ("playbook", "recorded"),
    [
        ("stage1-deploy-new.yml", [(NEW, "mid-migration")]),
        ("stage1-migrate-db.yml", [(OLD, "frozen")]),
        ("stage1-cutover.yml", [(OLD, "decommissioned"), (NEW, "")]),
        ("stage1-stop-old.yml", [(OLD, "decommissioned")]),
        ("rollback-freeze-new.yml", [(NEW, "frozen")]),
        ("rollback-switch-back.yml", [(OLD, ""), (NEW, "mid-migration")]),
    ],
)
def test_each_migration_step_records_the_state_it_leaves(playbook: str, recorded: list[tuple[str, str]]) -> None:
    plays = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())
    found = [
        (play["hosts"], task["vars"]["dirac_migration_site_state"])
        for play in plays
        for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("tasks_from") == "site_state_record"
    ]
    assert found == recorded


def test_the_steps_that_deploy_or_start_a_guarded_site_name_its_state() -> None:
    deploy_new = yaml.safe_load((ROOT / "playbooks" / "stage1-deploy-new.yml").read_text())
    site = next(p for p in deploy_new if p.get("ansible.builtin.import_playbook") == "site.yml")
    assert site["vars"]["dirac_migration_site_state_override"] == "mid-migration"
    switch_back = [p.get("name", "") for p in yaml.safe_load((ROOT / "playbooks/rollback-switch-back.yml").read_text())]
    # The old site serves again (state forgotten) before start.yml starts it.
    assert switch_back.index("Rollback / switch-back: the old site serves again") < switch_back.index(
        "Rollback / switch-back: start the old site (start.yml)"
    )
    for playbook in ("site.yml", "start.yml"):
        first = yaml.safe_load((ROOT / "playbooks" / playbook).read_text())[0]
        assert first["ansible.builtin.import_playbook"] == "site-state-guard.yml", f"{playbook} is guarded first"


def test_recording_a_state_then_forgetting_it(host: tuple[Path, Path], tmp_path: Path) -> None:
    inventory, state_file = host
    play = tmp_path / "record.yml"
    play.write_text(
        "- name: Record\n  hosts: cyfronet\n  gather_facts: false\n  tasks:\n"
        "    - name: Record the state\n"
        "      ansible.builtin.include_role: {name: dirac_migration, tasks_from: site_state_record}\n"
    )
    common = ["-i", str(inventory), "-e", f"dirac_migration_site_state_file={state_file}", str(play)]
    env_roles = ["-e", f"ansible_python_interpreter={sys.executable}"]
    first = _playbook(*common, *env_roles, "-e", "dirac_migration_site_state=mid-migration")
    assert first.returncode == 0, first.stdout[-3000:]
    recorded = json.loads(state_file.read_text())
    assert recorded["state"] == "mid-migration" and recorded["site"] == "cyfronet"
    again = _playbook(*common, *env_roles, "-e", "dirac_migration_site_state=mid-migration")
    assert _recap(again.stdout)["changed"] == 0, "recording the same state again changes nothing"
    bad = _playbook(*common, *env_roles, "-e", "dirac_migration_site_state=retired")
    assert bad.returncode == 2 and "use one of decommissioned, frozen, mid-migration" in " ".join(bad.stdout.split())
    gone = _playbook(*common, *env_roles, "-e", "dirac_migration_site_state=")
    assert gone.returncode == 0 and not state_file.exists()
