"""Render a runbook (and the results of its run, if any) as Markdown and standalone HTML."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dirac_kit.runbook.model import Runbook
from dirac_kit.runbook.runner import StepRecord


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dirac_kit.runbook", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["shquote"] = shlex.quote
    return env


def freeze_windows(records: dict[str, StepRecord]) -> dict[str, dict[str, Any]]:
    """Per instance, the engine's write-freeze window a step recorded (migrate-db's `instances`)."""
    found: dict[str, dict[str, Any]] = {}
    for record in records.values():
        instances = record.results.get("instances")
        if isinstance(instances, dict):
            for name, info in instances.items():
                if isinstance(info, dict) and info.get("freeze_seconds") not in (None, ""):
                    found[name] = {"seconds": float(info["freeze_seconds"]), "mode": info.get("mode", ""),
                                   "verdict": info.get("verdict", ""), "step": record.step_id}  # fmt: skip
    return found


def render_book(
    book: Runbook, context: dict[str, Any], records: dict[str, StepRecord], out_dir: Path
) -> tuple[Path, Path]:
    """Write `<book>.md` and `<book>.html` into out_dir; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    values = {
        **context,
        "book": book,
        "records": records,
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "total_seconds": sum(r.duration_seconds for r in records.values()),
        "freeze_windows": freeze_windows(records),
    }
    env = _environment()
    markdown = out_dir / f"{book.name}.md"
    html = out_dir / f"{book.name}.html"
    markdown.write_text(env.get_template("runbook.md.j2").render(**values), encoding="utf-8")
    html.write_text(env.get_template("runbook.html.j2").render(**values), encoding="utf-8")
    return markdown, html
