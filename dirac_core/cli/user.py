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
    from dirac_core.cli.login import login_command, whoami_command

    cli.add_command(login_command)
    cli.add_command(whoami_command)
    from dirac_core.cli.jobs import jobs

    cli.add_command(jobs)


def main() -> None:
    _register()
    run_cli(cli)
