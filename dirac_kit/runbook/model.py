"""A runbook is an ordered list of steps; each step says what to run, what to expect, how to check
it, how to undo it and who notices. Books live in YAML next to this module and are Jinja2-templated
with facts from the real inventory and migration plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, TemplateError

from dirac_core.errors import BadRequest, NotFound

_STEP_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
BOOKS = ("stage1", "stage2", "rollback")


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    command: list[str]  # argv, run without a shell; empty for a manual step
    expected: str
    verify: str
    rollback: str
    affected: str
    manual: bool = False


@dataclass(frozen=True)
class Runbook:
    name: str
    title: str
    summary: str
    steps: list[Step] = field(default_factory=list)
    # Markers of other books this one invalidates when it finishes: {book: first step to redo}.
    # The rollback undoes stage 1 from migrate-db on, so those stage-1 steps must run again.
    resets: dict[str, str] = field(default_factory=dict)

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
            )
        )
    return Runbook(
        name=name,
        title=_render(raw["title"], context, f"runbook {name}"),
        summary=_render(raw.get("summary", ""), context, f"runbook {name}"),
        steps=steps,
        resets={str(k): str(v) for k, v in (raw.get("resets") or {}).items()},
    )
