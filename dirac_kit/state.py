"""Where the kit keeps what it remembers of a migration, keyed by lab and site.

Runbook markers and reports, the freeze records of `ops` and the playbooks' own markers and reports
of one inventory live under one directory, so two labs, or a lab and production, never read each
other's progress:

- a lab inventory (it carries ``vault-password.lab.txt``): ``var/<lab name>/runs/<inventory>/``, beside
  the lab's ssh_config; ``DIRAC_LAB_NAME`` picks the lab, as for `dirac-kit lab`;
- any other inventory (a production site): ``var/sites/<inventory>/``, whatever lab name is set.

Several inventories (old and new site given apart) share the directory named after all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dirac_kit.lab.paths import LabPaths
from dirac_kit.vault import lab_vault_file


def _name(inventory: Path) -> str:
    # An inventory file counts as its directory (hosts.yml of inventories/cc-in2p3 is cc-in2p3).
    return (inventory.parent if inventory.is_file() else inventory).resolve().name


def _parent(inventories: Sequence[Path], lab: LabPaths) -> Path:
    if any(lab_vault_file(inv) for inv in inventories):
        return lab.runs
    return lab.root / "var" / "sites"


@dataclass(frozen=True)
class RunPaths:
    """The state directory of one set of inventories."""

    root: Path

    @classmethod
    def of(cls, inventories: Sequence[Path], lab: LabPaths | None = None) -> RunPaths:
        lab = lab or LabPaths.default()
        key = "+".join(_name(inv) for inv in inventories) or "default"
        return cls(_parent(inventories, lab) / key)

    @classmethod
    def sharing(cls, inventories: Sequence[Path], lab: LabPaths | None = None) -> list[RunPaths]:
        """Every state directory that names one of the inventories: a site given alone
        (`-i inventories/cyfronet`) also sees what a run of both sites (cyfronet+cc-in2p3) recorded."""
        lab = lab or LabPaths.default()
        parent, names = _parent(inventories, lab), {_name(inv) for inv in inventories}
        if not parent.is_dir():
            return []
        return [cls(d) for d in sorted(parent.iterdir()) if d.is_dir() and names & set(d.name.split("+"))]

    @property
    def runbooks(self) -> Path:
        """Runbook markers, run logs and HTML reports (one directory per book)."""
        return self.root / "runbooks"

    @property
    def ops(self) -> Path:
        """Freeze records of `dirac-kit ops freeze`."""
        return self.root / "ops"

    @property
    def markers(self) -> Path:
        """The migration playbooks' own step markers ($DIRAC_MIGRATION_MARKER_ROOT)."""
        return self.root / "markers"

    @property
    def reports(self) -> Path:
        """Engine, verify and nested-run reports of the playbooks ($DIRAC_MIGRATION_REPORT_ROOT)."""
        return self.root / "reports"
