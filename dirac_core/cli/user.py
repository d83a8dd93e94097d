"""`dirac`: the user CLI (login, jobs, file catalog, accounting)."""

from __future__ import annotations

import click

from dirac_core import __version__
from dirac_core.cli.common import run_cli


@click.group()
@click.version_option(__version__, prog_name="dirac")
def cli() -> None:
    """Submit and follow jobs, use the file catalog and accounting."""


def _register() -> None:
    # Imported here, not at module level, so `dirac --help` stays fast.
    from dirac_core.cli.accounting import accounting_group
    from dirac_core.cli.fc import fc as fc_group
    from dirac_core.cli.jobs import jobs
    from dirac_core.cli.login import login_command, whoami_command

    for command in (login_command, whoami_command, jobs, fc_group, accounting_group):
        cli.add_command(command)


def main() -> None:
    _register()
    run_cli(cli)
