"""`dirac-core writers list|freeze`: the write freeze of one host (see dirac_core.dbmigrate.freeze).

Run on a service host by the migration playbooks (cutover, rollback) and by `dirac-kit ops`, so
every freeze stops the same units: all DIRAC components but the Configuration Server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from dirac_core.dbmigrate.freeze import WritersAction, running_writers

_instance = click.option("--instance", help="Only this instance's units (dirac-INSTANCE-*).")


@click.group()
def writers() -> None:
    """The DIRAC units of this host that write (all but the Configuration Server)."""


@writers.command("list")
@_instance
def list_writers(instance: str | None) -> None:
    """Print the writer units running now, one a line."""
    for unit in running_writers(instance):
        click.echo(unit)


@writers.command()
@_instance
@click.option("--dry-run", is_flag=True, help="Say what would stop; stop nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print {stopped: [...], at: ...} as JSON.")
def freeze(instance: str | None, dry_run: bool, as_json: bool) -> None:
    """Stop the running writer units (they stay enabled); the Configuration Server keeps serving."""
    action = WritersAction(instance, dry_run)
    action.freeze(lambda line: None if as_json else click.echo(line))
    if as_json:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        click.echo(json.dumps({"stopped": action.stopped, "dry_run": dry_run, "at": at}))
