"""`dirac-core db cutover PLAN`: migrate PLAN with a minimal write freeze (see docs/dbmigrate-cutover.md).

The engine's copy runs while the services still write; the target then catches up by replication,
writes are frozen for the switch, and the freeze window is printed. Exit status: 0 switched and
verified, 1 verification FAIL, 2 the plan or a server refused.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("cutover")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--confirm", is_flag=True, help="Allow replacing target DBs that hold data (reset, non-empty copy target)."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Manifest, chunks and cutover state (default: PLAN without .yml + .state/). Rerun with it to resume.",
)
@click.option("--quiet", is_flag=True, help="No progress bars.")
def cutover_command(plan_file: Path, confirm: bool, state_dir: Path | None, quiet: bool) -> None:
    """Copy, catch up by replication, freeze, verify, switch: the databases of PLAN, minimal downtime."""
    from rich.console import Console

    from dirac_core.dbmigrate import cutover
    from dirac_core.dbmigrate.plan import load_plan
    from dirac_core.dbmigrate.progress import RichProgress

    plan = load_plan(plan_file)
    state = state_dir or plan_file.with_suffix(".state")
    bars = None if quiet else RichProgress(Console(stderr=True))

    def say(line: str) -> None:
        click.echo(line)

    if bars is not None:
        with bars:
            report, result = cutover.run_plan(plan, state, confirm=confirm, progress=bars, say=say)
    else:
        report, result = cutover.run_plan(plan, state, confirm=confirm, say=say)
    click.echo(report.text(chunks=False), nl=False)
    click.echo(result.summary())
    if not report.passed or result.verify_failures:
        sys.exit(1)
