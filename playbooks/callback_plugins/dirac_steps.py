"""Callback of the migration step playbooks: hand their results to the runbook runner, and say
where a stage playbook stopped when it fails.

Loaded automatically for the playbooks of this directory (CALLBACK_NEEDS_ENABLED is False). A step
reports results (freeze windows, report paths) with ``ansible.builtin.set_stats``; when the runbook
runner started the run, they are written as JSON to the file named by $DIRAC_KIT_RESULT. A step is
a play's tag; its playbook is ``<book>-<step>.yml`` (stage1-cutover.yml, rollback-carry-back.yml).
No markers here: the runner records which steps finished.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: dirac_steps
    type: aggregate
    short_description: write a step's results for the runbook runner; name where a stage playbook stopped
    description: Writes set_stats data to $DIRAC_KIT_RESULT; on a failed stage playbook, prints the step to resume at.
"""


def book_of(playbook_file: str) -> str:
    """migrate-stage1.yml -> stage1, rollback.yml -> rollback, stage1-cutover.yml -> stage1."""
    name = Path(playbook_file).stem.removeprefix("migrate-")
    return name.split("-", 1)[0]


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dirac_steps"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []
        self.current: str | None = None
        self.book = ""

    def v2_playbook_on_start(self, playbook: Any) -> None:
        self.book = book_of(playbook._file_name)
        for play in playbook.get_plays():
            for tag in play.tags or []:
                if tag != "always" and tag not in self.steps:
                    self.steps.append(tag)

    def v2_playbook_on_play_start(self, play: Any) -> None:
        steps = [tag for tag in play.tags or [] if tag in self.steps]
        if steps:
            self.current = steps[0]

    def v2_playbook_on_stats(self, stats: Any) -> None:
        result_file = os.environ.get("DIRAC_KIT_RESULT")
        if result_file and not context.CLIARGS.get("check"):
            Path(result_file).write_text(json.dumps(stats.custom.get("_run", {}), indent=2) + "\n", encoding="utf-8")
        failed = any(stats.failures.get(h) or stats.dark.get(h) for h in stats.processed)
        if not failed or len(self.steps) < 2 or self.current not in self.steps:
            return
        remaining = self.steps[self.steps.index(self.current) :]
        sources = context.CLIARGS.get("inventory") or ()
        inventory = " ".join(f"-i {source}" for source in sources)
        self._display.display(f"\n******** {self.book} stopped at step {self.current} ********", color="bright red")
        self._display.display(f"remaining steps: {', '.join(remaining)}", color="bright red")
        self._display.display(
            f"fix the cause, then resume: ansible-playbook {inventory} playbooks/{self.book}-{self.current}.yml and "
            f"the later step playbooks in order, or `dirac-kit runbook run {self.book} {inventory} "
            "--yes-i-really-mean-it` (it records finished steps and resumes by itself)",
            color="bright red",
        )
