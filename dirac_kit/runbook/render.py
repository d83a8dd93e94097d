"""Render a runbook (and the results of its run, if any) as Markdown and standalone HTML."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from dirac_kit.runbook.model import Runbook
from dirac_kit.runbook.runner import StepRecord
from dirac_kit.runbook.windows import FreezeWindow, freeze_windows


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


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _shown(window: FreezeWindow) -> str:
    """One line per instance: the engine's freeze, and how long writes were really refused."""
    text = f"{window.engine_seconds:.2f} s engine freeze ({window.mode} cutover, {window.verdict}, step {window.step})"
    if (seconds := window.write_seconds) is not None and window.frozen_at is not None:
        return (
            f"{text}; writes refused {seconds:.1f} s in all, from the first freeze at {_clock(window.frozen_at)} "
            f"until step {window.until_step} ended"
        )
    if (so_far := window.frozen_for()) is not None and window.frozen_at is not None:
        return (
            f"{text}; read-only since {_clock(window.frozen_at)} ({so_far:.0f} s so far): writes are refused until "
            f"step {window.until_step} has run"
        )
    return text


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
        "freeze_windows": {name: _shown(window) for name, window in freeze_windows(book, records).items()},
    }
    env = _environment()
    markdown = out_dir / f"{book.name}.md"
    html = out_dir / f"{book.name}.html"
    markdown.write_text(env.get_template("runbook.md.j2").render(**values), encoding="utf-8")
    html.write_text(env.get_template("runbook.html.j2").render(**values), encoding="utf-8")
    return markdown, html
