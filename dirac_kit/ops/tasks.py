"""The operations themselves: read-only status and logs, and a reversible write freeze.

DIRAC components run as systemd units `dirac-<instance>-<System>_<Service>.service` (dirac_services).
Freezing an instance stops its writers, every unit of it except its Configuration Servers (clients
keep reading the configuration, nobody can write): the product's one rule of what a writer is
(dirac_core.dbmigrate.freeze.is_writer, also behind `dirac-core writers freeze` that the migration
playbooks run). The units stopped are recorded on the controller so that unfreeze starts exactly
those again, even from another shell or after a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dirac_core.dbmigrate.freeze import UNIT_GLOB, is_writer
from dirac_core.errors import Conflict
from dirac_kit.ops.hosts import Fleet, Result, quote


@dataclass(frozen=True)
class UnitState:
    host: str
    unit: str
    active: str  # active, inactive, failed; "unreachable", or "none" (host without DIRAC units)
    sub: str  # running, dead, ...
    enabled: str


def status(fleet: Fleet, pattern: str = "all") -> list[UnitState]:
    """Every DIRAC unit of every host matched, with its state; an unreachable host is one line."""
    command = (
        f"systemctl list-units --all --no-legend --plain {quote(UNIT_GLOB)} | "
        "while read -r unit load active sub rest; do "
        'echo "$unit $active $sub $(systemctl is-enabled "$unit" 2>/dev/null || true)"; done'
    )
    states: list[UnitState] = []
    for result in fleet.run(fleet.hosts(pattern), command):
        if not result.ok:
            states.append(UnitState(result.host, "-", "unreachable", result.stderr.strip()[:80], "-"))
            continue
        found = [line.split() for line in result.stdout.splitlines() if len(line.split()) >= 3]
        if not found:  # reachable, nothing of DIRAC on it (e.g. a DB host): still one line
            states.append(UnitState(result.host, "-", "none", "", "-"))
        for parts in found:
            states.append(UnitState(result.host, parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else "?"))
    return states


def logs(fleet: Fleet, pattern: str, unit: str | None, lines: int) -> list[Result]:
    """The last lines of the journal of one unit (or of every DIRAC unit) on the hosts matched."""
    target = f"-u {quote(unit)}" if unit else f"-u {quote(UNIT_GLOB)}"
    return fleet.run(fleet.hosts(pattern), f"journalctl {target} -n {int(lines)} --no-pager -o short-iso")


def _state_file(state_dir: Path, instance: str) -> Path:
    return state_dir / f"frozen-{instance}.json"


def freeze(fleet: Fleet, instance: str, state_dir: Path, pattern: str = "all") -> dict[str, list[str]]:
    """Stop the running units of an instance (on the hosts of ``pattern``) but its Configuration
    Servers; record what was stopped."""
    path = _state_file(state_dir, instance)
    if path.is_file():
        raise Conflict(f"{instance} is already frozen (see {path}): run `dirac-kit ops unfreeze` first")
    states = status(fleet, instance if pattern == "all" else f"{instance}:&{pattern}")
    running = [s for s in states if s.active == "active" and is_writer(s.unit, instance)]
    unreachable = sorted({s.host for s in states if s.active == "unreachable"})
    if unreachable:
        others = "".join(f":!{host}" for host in unreachable)
        raise Conflict(
            f"cannot freeze {instance}: {', '.join(unreachable)} unreachable; fix SSH and retry, or freeze the "
            f"other hosts only with --hosts '{instance}{others}'"
        )
    stopped: dict[str, list[str]] = {}
    for state in running:
        stopped.setdefault(state.host, []).append(state.unit)
    state_dir.mkdir(parents=True, exist_ok=True)
    record = {"instance": instance, "frozen_at": datetime.now(UTC).isoformat(timespec="seconds"), "units": stopped}
    path.write_text(json.dumps(record, indent=2) + "\n")  # recorded before stopping: unfreeze can always undo
    failures = _on_each(fleet, stopped, "stop")
    if failures:
        raise Conflict(f"freeze of {instance}: {'; '.join(failures)}; `dirac-kit ops unfreeze` restarts what stopped")
    return stopped


def frozen_units(instance: str, state_dir: Path) -> dict[str, list[str]]:
    """The units `freeze` stopped, per host (what `unfreeze` starts again)."""
    path = _state_file(state_dir, instance)
    if not path.is_file():
        raise Conflict(f"{instance} is not frozen (no {path}): nothing to start")
    units: dict[str, list[str]] = json.loads(path.read_text())["units"]
    return units


def unfreeze(fleet: Fleet, instance: str, state_dir: Path) -> dict[str, list[str]]:
    """Start again exactly the units freeze stopped, then forget the freeze."""
    path = _state_file(state_dir, instance)
    units = frozen_units(instance, state_dir)
    failures = _on_each(fleet, units, "start")
    if failures:
        raise Conflict(f"unfreeze of {instance}: {'; '.join(failures)}; fix and run unfreeze again")
    path.unlink()
    return units


def _on_each(fleet: Fleet, units: dict[str, list[str]], verb: str) -> list[str]:
    failures: list[str] = []
    for host, names in units.items():
        result = fleet.run([host], f"systemctl {verb} {' '.join(quote(n) for n in names)}")[0]
        if not result.ok:
            failures.append(f"{host}: systemctl {verb} failed: {result.stderr.strip()[:200]}")
    return failures
