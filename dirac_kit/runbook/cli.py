"""`dirac-kit runbook render|run|status`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from dirac_kit import confirm, environment
from dirac_kit.lab.paths import LabPaths
from dirac_kit.runbook.context import build_context, runbook_args
from dirac_kit.runbook.interrupt import Interrupted
from dirac_kit.runbook.lock import RunInProgress
from dirac_kit.runbook.model import BOOKS, Runbook, load_book
from dirac_kit.runbook.render import render_book
from dirac_kit.runbook.runner import RunState, pending_steps, read_only_warnings, refusal, run_book
from dirac_kit.state import RunPaths
from dirac_kit.vault import require_password

_inventory_option = click.option(
    "-i",
    "--inventory",
    "inventories",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="Ansible inventory (repeat for the old and the new site).",
)
_plan_option = click.option("--plan", type=click.Path(path_type=Path), help="Database migration plan (YAML).")
_vault_option = click.option(
    "--vault-password-file", type=click.Path(path_type=Path), help="Vault password file, to read vaulted group_vars."
)
_state_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where markers, run logs and reports are kept (default: var/<lab>/runs/<inventory>/runbooks for a lab "
    "inventory, var/sites/<inventory>/runbooks for a site).",
)


def _prepare(
    book_name: str, inventories: tuple[Path, ...], plan: Path | None, vault: Path | None, state_dir: Path | None = None
) -> tuple[Runbook, dict[str, Any]]:
    require_password(inventories, password_file=vault, option="--vault-password-file")
    # The steps' ansible-playbook runs read the same vaulted group_vars and keep this lab's state.
    environment.prepare(inventories, vault_password_file=vault)
    context = build_context(inventories, plan, vault_password_file=vault, state_dir=state_dir)
    return load_book(book_name, context), context


def _resume_command(
    book_name: str,
    inventories: tuple[Path, ...],
    plan: Path | None,
    vault: Path | None,
    state_dir: Path | None,
    only: str | None = None,
    until: str | None = None,
    confirmed: bool = False,
) -> str:
    """The `dirac-kit runbook run` that resumes this run, as the operator typed it."""
    extra = [arg for option, value in (("--only", only), ("--until", until)) if value for arg in (option, value)]
    extra += ["--yes-i-really-mean-it"] if confirmed else []
    options = runbook_args(inventories, plan, vault, state_dir)
    return shlex.join(["dirac-kit", "runbook", "run", book_name, *options, *extra])


def _state_dir(given: Path | None, inventories: tuple[Path, ...]) -> Path:
    return given if given is not None else RunPaths.of(inventories).runbooks


@click.group()
def runbook() -> None:
    """Render and run the operator runbooks (stage1, stage2, rollback)."""


@runbook.command()
@click.argument("book_name", metavar="BOOK", type=click.Choice(BOOKS))
@_inventory_option
@_plan_option
@_vault_option
@_state_option
@click.option("--out", type=click.Path(path_type=Path), help="Output directory (default: STATE_DIR/BOOK).")
def render(
    book_name: str,
    inventories: tuple[Path, ...],
    plan: Path | None,
    vault_password_file: Path | None,
    state_dir: Path | None,
    out: Path | None,
) -> None:
    """Write the runbook as Markdown and standalone HTML, with results of any run so far."""
    book, context = _prepare(book_name, inventories, plan, vault_password_file, state_dir)
    state_dir = _state_dir(state_dir, inventories)
    records = RunState(state_dir / book_name).done_records(book)
    markdown, html = render_book(book, context, records, out or state_dir / book_name)
    click.echo(f"runbook written: {markdown} and {html}")


@runbook.command()
@click.argument("book_name", metavar="BOOK", type=click.Choice(BOOKS))
@_inventory_option
@_plan_option
@_vault_option
@_state_option
@click.option("--only", help="Run just this step (e.g. to mark a manual step done).")
@click.option("--until", help="Stop after this step (e.g. pause after cutover to decide on rollback).")
@click.option(
    confirm.CONFIRM_FLAG, "confirmed", is_flag=True, help="Confirm the steps that stop services or move data."
)
def run(
    book_name: str,
    inventories: tuple[Path, ...],
    plan: Path | None,
    vault_password_file: Path | None,
    state_dir: Path | None,
    only: str | None,
    until: str | None,
    confirmed: bool,
) -> None:
    """Run the steps not yet done, in order; re-run to resume after a failure or an interruption. Steps
    that stop services or move data need --yes-i-really-mean-it (or typing yes at the prompt on a terminal)."""
    book, context = _prepare(book_name, inventories, plan, vault_password_file, state_dir)
    resume = _resume_command(book_name, inventories, plan, vault_password_file, state_dir, only, until, confirmed)
    state_dir = _state_dir(state_dir, inventories)
    for step_id in (only, until):
        if step_id is not None:
            book.step(step_id)  # unknown step: clear error before anything runs
    why_not = refusal(book, state_dir, lambda name: load_book(name, context))
    if why_not is not None:
        raise click.ClickException(why_not)
    state = RunState(state_dir / book_name)
    destructive = [step.id for step in pending_steps(book, state, only, until) if step.destructive]
    if destructive:
        confirm.require(
            f"runbook run {book_name}", f"steps {', '.join(destructive)} stop services or move data", confirmed,
            confirm.terminal_ask(), first=f"read what they do first: dirac-kit runbook render {book_name}",
        )  # fmt: skip
    try:
        ok = run_book(
            book, state, Path.cwd(), click.echo, only=only, until=until, root=LabPaths.default().root, resume=resume,
            load=lambda name: load_book(name, context),
        )  # fmt: skip
    except RunInProgress as exc:
        raise click.ClickException(str(exc)) from None
    except Interrupted as exc:
        _, html = render_book(book, context, state.done_records(book), state_dir / book_name)
        click.echo(f"report: {html}")
        raise click.exceptions.Exit(exc.exit_code) from None
    if ok and only is None and until is None:
        for other, first in book.resets.items():
            cleared = RunState(state_dir / other).clear_from(load_book(other, context), first)
            if cleared:
                click.echo(f"{book_name} finished: {other} steps {', '.join(cleared)} must run again (markers cleared)")
    _, html = render_book(book, context, state.done_records(book), state_dir / book_name)
    click.echo(f"report: {html}")
    if not ok:
        raise click.exceptions.Exit(1)


@runbook.command()
@click.argument("book_name", metavar="BOOK", type=click.Choice(BOOKS))
@_inventory_option
@_plan_option
@_vault_option
@_state_option
def status(
    book_name: str,
    inventories: tuple[Path, ...],
    plan: Path | None,
    vault_password_file: Path | None,
    state_dir: Path | None,
) -> None:
    """Show which steps are done and which remain, and what an unfinished run left read-only."""
    book, _ = _prepare(book_name, inventories, plan, vault_password_file, state_dir)
    resume = _resume_command(book_name, inventories, plan, vault_password_file, state_dir)
    state_dir = _state_dir(state_dir, inventories)
    state = RunState(state_dir / book_name)
    records = state.done_records(book)
    last = {record.step_id: record for record in state.log_records()}
    for index, step in enumerate(book.steps, start=1):
        record = records.get(step.id)
        attempt = last.get(step.id)
        if record:
            mark = f"done ({record.duration_seconds:.1f} s)"
        elif attempt is not None and attempt.status in ("failed", "interrupted"):
            mark = attempt.status
        else:
            mark = "pending"
        click.echo(f"{index:2d}. {step.id:<20} {mark:<18} {step.title}")
    warnings = read_only_warnings(book, state)
    for line in warnings:
        click.secho(line, fg="red", bold=True)
    if warnings or any(r.status in ("failed", "interrupted") for r in last.values() if r.step_id not in records):
        click.echo(f"resume with: {resume}")
