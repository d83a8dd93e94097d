"""`dirac-core`: run services, manage databases and configuration on a server."""

from __future__ import annotations

import click

from dirac_core import __version__
from dirac_core.cli.common import run_cli


@click.group()
@click.version_option(__version__, prog_name="dirac-core")
def cli() -> None:
    """Server and administration commands of dirac_core."""


def _register() -> None:
    # Each subsystem owns its command group; the admin CLI only assembles them.
    from dirac_core.cli.config import config
    from dirac_core.cli.db import db

    cli.add_command(db)
    cli.add_command(config)
    from dirac_core.cli.pilot import pilot_command

    cli.add_command(pilot_command)
    from dirac_core.cli.server import runtime_commands

    for command in runtime_commands():
        cli.add_command(command)


def main() -> None:
    _register()
    run_cli(cli)
