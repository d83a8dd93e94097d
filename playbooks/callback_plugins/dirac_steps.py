"""Callback: when a stage playbook fails, print the steps still to do (as run-upgrade.sh does).

Loaded automatically for the playbooks of this directory (CALLBACK_NEEDS_ENABLED is False). A
play belongs to a step through its vars `dirac_migration_stage` and `dirac_migration_step`; a step
is done when its marker var/markers/<inventory>/<stage>/<step>.done exists on the controller.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: dirac_steps
    type: aggregate
    short_description: print the remaining migration steps when a stage playbook fails
    description: Lists the steps of a stage playbook that have no marker yet, with how to resume.
"""


def inventory_name(source: str) -> str:
    """Same rule as dirac_migration_inventory_name: the inventory directory, or a file's directory."""
    path = Path(source)
    return path.name if path.is_dir() else path.parent.name


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dirac_steps"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[str, str]] = []
        self.playbook_dir: Path | None = None

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self.playbook_dir = Path(playbook._basedir)
        for play in playbook.get_plays():
            found = self._step_of(play)
            if found and found not in self.steps:
                self.steps.append(found)

    @staticmethod
    def _step_of(play: Any) -> tuple[str, str] | None:
        variables = play.vars or {}
        stage, step = variables.get("dirac_migration_stage"), variables.get("dirac_migration_step")
        return (str(stage), str(step)) if stage and step else None

    def v2_playbook_on_stats(self, stats: Any) -> None:
        failed = any(stats.failures.get(h) or stats.dark.get(h) for h in stats.processed)
        if not failed or not self.steps or self.playbook_dir is None:
            return
        sources = context.CLIARGS.get("inventory") or ()
        name = inventory_name(str(sources[0])) if sources else "default"
        root = os.environ.get("DIRAC_MIGRATION_MARKER_ROOT") or str(self.playbook_dir.parent / "var" / "markers")
        markers = Path(root) / name
        remaining = [step for stage, step in self.steps if not (markers / stage / f"{step}.done").is_file()]
        # The first unfinished step is where to resume (later plays may have refused to start).
        where = f" at step {remaining[0]}" if remaining else ""
        stage = self.steps[0][0]
        self._display.display(f"\n******** {stage} stopped{where} ********", color="bright red")
        self._display.display(f"remaining steps: {', '.join(remaining) or 'none'}", color="bright red")
        self._display.display(
            f"fix the cause and re-run the same command: finished steps are skipped (markers in {markers / stage})",
            color="bright red",
        )
