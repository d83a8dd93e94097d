"""Site state is a guard: a site that a migration decommissioned, froze or is moving refuses `deploy`,
`start`, `reconfigure` and `ops freeze|unfreeze` unless the operator overrides that state by name.

After stage 1 the old site's Configuration Servers follow the new master and its services are
stopped: a deploy would write `Master = yes` back and a start would bring up a second master per
instance. The state is read in two places, so that no entry point gets past it:

- here, by the kit, from the runbook markers of the inventory, before any Ansible runs (one line);
- on every host, from the state file the migration steps keep there (roles/dirac_migration,
  tasks/site_state_guard.yml, the first play of site.yml and start.yml), so a plain
  `ansible-playbook playbooks/site.yml` refuses too. The same override name passes both:
  `--override-site-state STATE`, i.e. `-e dirac_migration_site_state_override=STATE`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dirac_core.errors import BadRequest, Conflict
from dirac_kit.lab.paths import LabPaths
from dirac_kit.runbook.runner import RunState
from dirac_kit.state import RunPaths

DECOMMISSIONED = "decommissioned"
FROZEN = "frozen"
MID_MIGRATION = "mid-migration"
# Why each state refuses; roles/dirac_migration/defaults/main.yml (dirac_migration_site_states) says
# the same on the hosts (tests/kit/test_site_state.py keeps the two in step).
WHY = {
    DECOMMISSIONED: (
        "stage 1 cut over to the new site: its Configuration Servers follow the new master and its services are "
        "stopped; a deploy or start would make it master again next to the new one"
    ),
    FROZEN: (
        "a migration froze its writes (databases read-only, writers stopped) while data moves off or back; "
        "starting or reconfiguring it would take writes that are never carried over"
    ),
    MID_MIGRATION: (
        "it is deployed but kept quiet until the cutover (its databases are being migrated or it follows the "
        "old master after a rollback); a deploy or start would write into them or make it master"
    ),
}
OVERRIDE_OPTION = "--override-site-state"
OVERRIDE_VAR = "dirac_migration_site_state_override"
GUARDED_ACTIONS = frozenset({"deploy", "start", "reconfigure"})
# roles/dirac_migration defaults, when neither the inventory nor -e names the site groups.
_DEFAULT_GROUPS = {"dirac_migration_old_site": "cyfronet", "dirac_migration_new_site": "cc_in2p3"}


@dataclass(frozen=True)
class SiteGroups:
    """The inventory groups of the old and the new hosting (dirac_migration_old_site/new_site)."""

    old: str
    new: str


@dataclass(frozen=True)
class SiteState:
    group: str
    state: str
    recorded_in: Path  # the runbook state directory whose markers say so


def from_markers(stage1: set[str], rollback: set[str], groups: SiteGroups) -> dict[str, str]:
    """The state of each site that is not serving normally, from the done steps of the books."""
    states: dict[str, str] = {}
    if stage1 & {"cutover", "stop-old"}:
        states[groups.old] = DECOMMISSIONED
    elif "migrate-db" in stage1:
        states[groups.old] = FROZEN  # the engine made the old databases read-only
    # A finished rollback cleared stage 1 from migrate-db on; its own markers stay until stage 1's
    # next migrate-db clears them, so only a rollback that froze the new site and has not switched
    # back yet is in progress.
    if "freeze-new" in rollback and "switch-back" not in rollback:
        states[groups.new] = FROZEN
    elif "deploy-new" in stage1 and "cutover" not in stage1:
        states[groups.new] = MID_MIGRATION
    return states


def recorded(inventories: Sequence[Path], groups: SiteGroups, lab: LabPaths | None = None) -> list[SiteState]:
    """Site states the runbook markers of these inventories record (any run that names one of them)."""
    found: dict[str, SiteState] = {}
    for run in RunPaths.sharing(inventories, lab):
        stage1 = RunState(run.runbooks / "stage1").done_step_ids()
        rollback = RunState(run.runbooks / "rollback").done_step_ids()
        for group, state in from_markers(stage1, rollback, groups).items():
            found.setdefault(group, SiteState(group, state, run.runbooks))
    return list(found.values())


def site_groups(inventories: Sequence[Path], extra_vars: Sequence[str] = ()) -> SiteGroups:
    """The site groups: `-e dirac_migration_old_site=...` first, then the inventories' plain (not
    vaulted) group_vars/all, then the role's defaults."""
    values = dict(_DEFAULT_GROUPS)
    for inventory in inventories:
        values.update(_group_vars_all(inventory))
    for extra in extra_vars:
        name, sep, value = extra.partition("=")
        if sep and name.strip() in values and value.strip():
            values[name.strip()] = value.strip()
    return SiteGroups(values["dirac_migration_old_site"], values["dirac_migration_new_site"])


def _group_vars_all(inventory: Path) -> dict[str, str]:
    directory = inventory if inventory.is_dir() else inventory.parent
    files = [directory / "group_vars" / "all.yml", *sorted((directory / "group_vars" / "all").glob("*.yml"))]
    found: dict[str, str] = {}
    for path in files:
        if not path.is_file():
            continue
        try:
            data: Any = yaml.safe_load(path.read_text())
        except yaml.YAMLError:  # a vaulted file or !vault values: the site groups are never secret
            continue
        if isinstance(data, dict):
            found.update({k: str(data[k]) for k in _DEFAULT_GROUPS if isinstance(data.get(k), str)})
    return found


def parse_overrides(overrides: Iterable[str]) -> set[str]:
    """The states the operator overrides; an unknown name is one clear error before anything runs."""
    chosen = {name.strip() for override in overrides for name in override.split(",") if name.strip()}
    unknown = sorted(chosen - set(WHY))
    if unknown:
        raise BadRequest(f"{OVERRIDE_OPTION} {', '.join(unknown)}: not a site state; use one of {', '.join(WHY)}")
    return chosen


def refusal(what: str, state: SiteState, hosts: Sequence[str], overrides: set[str], leave_out: str) -> str | None:
    """Why `what` must not touch `hosts` of a site in `state` (None when no host is hit or it is overridden)."""
    if not hosts or state.state in overrides:
        return None
    return (
        f"{what} refused: {', '.join(hosts)} (site {state.group}) {'is' if len(hosts) == 1 else 'are'} "
        f"{state.state}: {WHY[state.state]} (runbook markers in {state.recorded_in}). Leave the site out "
        f"({leave_out}) or, if you really mean it, add {OVERRIDE_OPTION} {state.state}"
    )


def check_action(
    action: str,
    inventory: Path,
    limit: str | None,
    overrides: Iterable[str],
    extra_vars: Sequence[str] = (),
    lab: LabPaths | None = None,
) -> None:
    """Raise Conflict when `dirac-kit -i INVENTORY ACTION [--limit LIMIT]` would act on a guarded site."""
    chosen = parse_overrides(overrides)
    if action not in GUARDED_ACTIONS or not inventory.exists():  # a missing inventory is the action's own error
        return
    for state in recorded([inventory], site_groups([inventory], extra_vars), lab):
        hosts = list_hosts(inventory, state.group, limit)
        scope = limit if limit and limit != state.group else "all"
        leave_out = f"--limit '{scope}:!{state.group}'"
        why_not = refusal(action, state, hosts, chosen, leave_out)
        if why_not is not None:
            raise Conflict(why_not)


def check_hosts(
    what: str, hosts: Sequence[str], groups: Mapping[str, Sequence[str]], states: Sequence[SiteState],
    overrides: Iterable[str], leave_out: str,
) -> None:  # fmt: skip
    """Raise Conflict when `hosts` (already resolved, as `ops` does) include a host of a guarded site;
    `leave_out` is the hint how to leave it out, with {group} for the site's group."""
    chosen = parse_overrides(overrides)
    for state in states:
        hit = [h for h in hosts if h in groups.get(state.group, [])]
        why_not = refusal(what, state, hit, chosen, leave_out.format(group=state.group))
        if why_not is not None:
            raise Conflict(why_not)


def list_hosts(inventory: Path, pattern: str, limit: str | None = None) -> list[str]:
    """Hosts of `pattern` within `limit`, as ansible-playbook would pick them (`ansible --list-hosts`:
    the inventory alone, no variables, so no vault password is needed)."""
    hosts = _matching(inventory, pattern)
    if limit:  # apart: `--limit` leaving no host is an error of `ansible`, not an empty answer
        within = set(_matching(inventory, limit))
        hosts = [host for host in hosts if host in within]
    return hosts


def _matching(inventory: Path, pattern: str) -> list[str]:
    beside = Path(sys.executable).parent / "ansible"
    argv = [str(beside) if beside.is_file() else "ansible", pattern, "-i", str(inventory), "--list-hosts"]
    env = {**os.environ, "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise BadRequest(f"cannot list the hosts of {pattern} in {inventory}: {last}")
    lines = proc.stdout.splitlines()
    return [line.strip() for line in lines[1:] if line.strip()] if lines else []
