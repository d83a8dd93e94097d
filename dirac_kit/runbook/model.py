"""A runbook is an ordered list of steps; each step says what to run, what to expect, how to check
it, how to undo it and who notices. Books live in YAML next to this module and are Jinja2-templated
with facts from the real inventory and migration plan.

A step usually names its playbook (``playbook: stage1-cutover.yml`` under playbooks/): a plain
playbook without markers of its own; the runner runs it and records the step. A book may require a
step of another book to be done (stage 2 needs stage 1's stop-old) or forbid it (no rollback of
stage 1 after stage 2 changed the configuration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, TemplateError

from dirac_core.errors import BadRequest, NotFound
from dirac_kit.confirm import ANSIBLE_CONFIRM

_STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BOOKS = ("stage1", "stage2", "rollback")


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    command: list[str]  # argv as an operator types it, run without a shell; empty for a manual step
    expected: str
    verify: str
    rollback: str
    affected: str
    manual: bool = False
    playbook: str = ""  # file under playbooks/ the runner runs with ansible-playbook (command shows how)
    # Stops services or moves data: `runbook run` needs the operator's confirmation before it runs
    # (dirac_kit.confirm), and the step's playbook gets it as -e dirac_migration_confirm=true.
    destructive: bool = False
    # What a killed run of this step may leave running, and where (printed when a run is interrupted).
    still_running: str = ""
    # A database server this step leaves read-only (from its freeze on, even if the step is interrupted)
    # until the step `read_only_until` has run; `runbook status` and every resume say so meanwhile.
    read_only: str = ""
    read_only_until: str = ""
    # Other books whose markers this step makes stale, from which of their steps on: a new migrate-db
    # needs a new rollback, so a finished rollback of an earlier round must not read as done.
    resets: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Guard:
    """Another book's step that must be done (requires) or must not be (forbids) before this book runs."""

    book: str
    step: str
    why: str
    fix: str = ""


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    summary: str
    steps: list[Step] = field(default_factory=list)
    # Markers of other books this one invalidates when it finishes: {book: first step to redo}.
    # The rollback undoes stage 1 from migrate-db on, so those stage-1 steps must run again.
    resets: dict[str, str] = field(default_factory=dict)
    requires: list[Guard] = field(default_factory=list)
    forbids: list[Guard] = field(default_factory=list)

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise NotFound(f"runbook {self.name} has no step {step_id!r}: steps are {', '.join(self.step_ids)}")

    @property
    def step_ids(self) -> list[str]:
        return [step.id for step in self.steps]


def _render(text: str, context: dict[str, Any], where: str) -> str:
    env = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)  # noqa: S701
    try:
        return env.from_string(text).render(**context).strip()
    except TemplateError as exc:
        raise BadRequest(f"{where}: cannot render: {exc}") from exc


def _render_command(argv: list[Any], context: dict[str, Any], where: str) -> list[str]:
    """Render each argv item; the item ``@inventory`` expands to the ``-i INV`` pairs given."""
    rendered: list[str] = []
    for arg in argv:
        if arg == "@inventory":
            rendered += context["inventory_args"]
        elif value := _render(str(arg), context, where):
            rendered.append(value)
    return rendered


def _playbook_command(item: dict[str, Any], context: dict[str, Any], where: str) -> list[str]:
    """`ansible-playbook -i INV --vault-id … playbooks/<playbook> [-e VAR=VALUE ...]`: how the step runs
    by hand, from the checkout's root (its ansible.cfg), with the inventories' vault passwords (a
    destructive step's command carries the confirmation the runner was given)."""
    extra: list[str] = ["-e", ANSIBLE_CONFIRM] if item.get("destructive") else []
    for value in item.get("extra_vars", []):
        extra += ["-e", _render(str(value), context, where)]
    vault = context.get("vault_args", [])
    return ["ansible-playbook", *context["inventory_args"], *vault, f"playbooks/{item['playbook']}", *extra]


def _guards(raw: Any, context: dict[str, Any], where: str) -> list[Guard]:
    guards = []
    for item in raw or []:
        why, fix = _render(item["why"], context, where), _render(item.get("fix", ""), context, where)
        guards.append(Guard(str(item["book"]), str(item["step"]), why, fix))
    return guards


def load_book(name: str, context: dict[str, Any]) -> Runbook:
    """Load the YAML book `name` and render every field with `context`."""
    if name not in BOOKS:
        raise NotFound(f"unknown runbook {name!r}: choose one of {', '.join(BOOKS)}")
    raw = yaml.safe_load(resources.files("dirac_kit.runbook").joinpath("books", f"{name}.yml").read_text())
    steps: list[Step] = []
    for index, item in enumerate(raw["steps"], start=1):
        where = f"runbook {name} step {index}"
        step_id = str(item.get("id", ""))
        if not _STEP_ID.match(step_id) or step_id in {s.id for s in steps}:
            raise BadRequest(f"{where}: id {step_id!r} must be unique, lower-case letters, digits and dashes")
        if item.get("playbook"):
            command = _playbook_command(item, context, f"{where} ({step_id}) playbook")
        else:
            command = _render_command(item.get("command", []), context, f"{where} ({step_id}) command")
        steps.append(
            Step(
                id=step_id,
                title=_render(item["title"], context, where),
                command=command,
                expected=_render(item.get("expected", ""), context, where),
                verify=_render(item.get("verify", ""), context, where),
                rollback=_render(item.get("rollback", ""), context, where),
                affected=_render(item.get("affected", ""), context, where),
                manual=bool(item.get("manual", False)),
                playbook=str(item.get("playbook", "")),
                destructive=bool(item.get("destructive", False)),
                still_running=_render(item.get("still_running", ""), context, where),
                read_only=_render(item.get("read_only", ""), context, where),
                read_only_until=str(item.get("read_only_until", "")),
                resets={str(k): str(v) for k, v in (item.get("resets") or {}).items()},
            )
        )
    ids = {step.id for step in steps}
    for step in steps:
        if step.read_only and step.read_only_until not in ids:
            raise BadRequest(f"runbook {name} step {step.id}: read_only_until must name a step of the book")
    return Runbook(
        name=name,
        title=_render(raw["title"], context, f"runbook {name}"),
        summary=_render(raw.get("summary", ""), context, f"runbook {name}"),
        steps=steps,
        resets={str(k): str(v) for k, v in (raw.get("resets") or {}).items()},
        requires=_guards(raw.get("requires"), context, f"runbook {name} requires"),
        forbids=_guards(raw.get("forbids"), context, f"runbook {name} forbids"),
    )
