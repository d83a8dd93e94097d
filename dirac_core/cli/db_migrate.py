"""`dirac-core db migrate PLAN`: run a database migration plan (see docs/dbmigrate.md).

Exit status: 0 every database verified (PASS), 1 verification FAIL, 2 the plan or a server refused
(nothing changed when the refusal comes from the preflight), 3 a server error mid-run (rerun the same
command to resume), 130 interrupted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("migrate")
@click.argument("plan_file", metavar="PLAN", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check everything and print what would happen per DB; change nothing.")
@click.option(
    "--confirm", is_flag=True, help="Allow replacing target DBs that hold data (reset, non-empty copy target)."
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Manifest and chunk files (default: PLAN without .yml + .state/). Rerun with the same one to resume.",
)
@click.option("--report", "report_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report as JSON here (and as text next to it, .txt).")  # fmt: skip
@click.option("--verify-only", is_flag=True, help="Recompute the target checksums of a finished copy and report.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def migrate_command(
    plan_file: Path,
    dry_run: bool,
    confirm: bool,
    state_dir: Path | None,
    report_file: Path | None,
    verify_only: bool,
    quiet: bool,
) -> None:
    """Reset, copy and repopulate the databases of PLAN, verified and resumable."""
    import MySQLdb
    from rich.console import Console

    from dirac_core.dbmigrate.plan import load_plan
    from dirac_core.dbmigrate.progress import NullProgress, Progress, RichProgress
    from dirac_core.dbmigrate.runner import Runner

    plan = load_plan(plan_file)
    state = state_dir or plan_file.with_suffix(".state")
    console = Console(stderr=True)
    if dry_run:
        runner = Runner(plan, state, confirm=confirm)
        try:
            actions = runner.check()
        finally:
            runner.close()
        click.echo(f"dry run of {plan_file} (instance {plan.instance}, state {state}): nothing is changed")
        for action in actions:
            click.echo(f"  {action.db.name}: {action.verb} [{action.db.strategy}]")
            for line in action.details:
                click.echo(f"      {line}")
        click.echo(f"  cutover: {plan.cutover.mode} (run by the cutover step)")
        return
    bars: RichProgress | None = None if quiet else RichProgress(console)
    progress: Progress = bars or NullProgress()
    runner = Runner(plan, state, confirm=confirm, progress=progress)
    try:
        if verify_only:
            report = runner.verify_only()
        elif bars is not None:
            with bars:
                report = runner.run()
        else:
            report = runner.run()
        seconds = runner.manifest.get("seconds")
    except MySQLdb.Error as exc:  # a server failed mid-run: the manifest knows where we are
        click.echo(f"error: {type(exc).__name__} {exc}: fix the cause, then rerun the same command to resume", err=True)
        sys.exit(3)
    finally:
        runner.close()
    click.echo(report.text(chunks=False), nl=False)
    for line in report.failures():
        click.echo(f"FAIL {line}")
    if report_file is not None:
        json_path, text_path = report.write(report_file)
        click.echo(f"report: {json_path} and {text_path}")
    click.echo(report.summary(None if verify_only else seconds))
    click.echo(f"state: {state} (report: {state / 'report.json'})")
    if not report.passed:
        sys.exit(1)
