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
import shlex
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


def resume_line(book: str, step: str, cliargs: Any) -> str:
    """How to resume a stage playbook at `step`, with the inventories, vault options and extra vars of
    this run, so that the printed commands run as printed from the kit's checkout."""
    inventories = [arg for source in cliargs.get("inventory") or () for arg in ("-i", str(source))]
    vault = [arg for ident in cliargs.get("vault_ids") or () for arg in ("--vault-id", str(ident))]
    files = [str(path) for path in cliargs.get("vault_password_files") or ()]
    vault += [arg for path in files for arg in ("--vault-password-file", path)]
    extra = [arg for value in cliargs.get("extra_vars") or () for arg in ("-e", str(value))]
    by_hand = shlex.join(["ansible-playbook", *inventories, *vault, f"playbooks/{book}-{step}.yml", *extra])
    runbook = shlex.join(
        ["dirac-kit", "runbook", "run", book, *inventories, *(["--vault-password-file", files[0]] if files else []),
         "--yes-i-really-mean-it"]
    )  # fmt: skip
    return (
        f"fix the cause, then resume: {by_hand} and the later step playbooks in order, or `{runbook}` "
        "(it records finished steps and resumes by itself)"
    )


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
        self._display.display(f"\n******** {self.book} stopped at step {self.current} ********", color="bright red")
        self._display.display(f"remaining steps: {', '.join(remaining)}", color="bright red")
        self._display.display(resume_line(self.book, self.current, context.CLIARGS), color="bright red")
