"""`dirac-kit`: the operator's entry point."""

from __future__ import annotations

import click

from dirac_core.cli.common import run_cli


@click.group()
def cli() -> None:
    """Deploy and migrate DIRAC instances; run the local lab."""


def _register() -> None:
    from dirac_kit.runbook.cli import runbook

    cli.add_command(runbook)
    from dirac_kit.migration.cli import share_config

    cli.add_command(share_config)


def main() -> None:
    _register()
    run_cli(cli)
